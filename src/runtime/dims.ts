// Sizing the shared kernel memory for a scenario: room for every page it can fault, the
// migration targets, and fork children, with a floor that small scenarios never notice.
import { type Dims, vmaPteWords } from '../mm/layout.js';
import type { Scenario } from '../scenario/schema.js';

import { MAX_DIM } from '../mm/boot.js';

/** Folio slots per page a scenario names (fault, migration target, COW copy, fork child). */
const FOLIOS_PER_PAGE = 4;
const SLACK = 256;
/** Pages a scenario's objects and VMAs may name together, so that its folio table fits. */
export const MAX_SCENARIO_PAGES = Math.floor((MAX_DIM - SLACK) / FOLIOS_PER_PAGE);

export function dimsFor(s: Scenario, cpus: number): Dims {
  const objPages = s.objects.reduce((a, o) => a + o.pages, 0);
  const vmaPages = s.vmas.reduce((a, v) => a + v.pages, 0);
  return {
    nCpus: cpus,
    // Each page can be faulted, migrated (a new folio) and COW-copied in one trial.
    nFolios: Math.max(4096, FOLIOS_PER_PAGE * (objPages + vmaPages) + SLACK),
    // Fork children get a copy of the parent's PTEs; each VMA its page-table locks too.
    nPtes: Math.max(4096, 3 * s.vmas.reduce((a, v) => a + vmaPteWords(v.pages), 0) + 256),
    nCacheSlots: Math.max(4096, objPages + 256),
  };
}
