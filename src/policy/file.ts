// A user's kernel variant as a file: a base (built-in policy or kernel release) plus switches.
//
//   id: my-fix                      # optional: the file name without extension
//   description: merged, but ...    # optional
//   base: merged                    # a policy id (folio-race policies) or a release (6.12.45)
//   switches:
//     gupDrainRule: refNeExpectedPlusPins
//
// Checked like scenario files: every problem as `<file>: <path> (line N): expected ..., found ...`.
import { basename, extname } from 'node:path';
import { z } from 'zod';
import { parseDocumentText, parseWith, readInputFile } from '../input/document.js';
import { PolicyFileError, Problems, type ScenarioProblem, showValue } from '../input/problems.js';
import { changedSwitches, withSwitches, type Policy, type PolicySwitches } from '../mm/policy.js';
import { PartialSwitchesSchema } from '../mm/policy_schema.js';

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const PolicyFileSchema = z
  .object({
    id: z.string().regex(ID_RE, 'an id of letters, digits, ".", "_" and "-"').optional(),
    description: z.string().min(1).optional(),
    source: z.string().min(1).optional(),
    base: z.string().min(1),
    switches: z.unknown().optional(),
  })
  .strict();

/** Resolves a base name to a policy, or returns the list of names it could have been. */
export type BaseLookup = (name: string) => Policy | { known: string };

/** Validate a parsed policy file object. */
export function validatePolicyFile(obj: unknown, file: string, lookup: BaseLookup): Policy {
  const pr = new Problems();
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new PolicyFileError(file, [{ path: '', expected: 'a map with base and switches (and optionally id, description, source)', found: showValue(obj) }]);
  }
  const raw = obj as Record<string, unknown>;
  const top = parseWith(pr, PolicyFileSchema, raw, []);
  const switches = raw.switches === undefined || raw.switches === null ? {} : parseWith(pr, PartialSwitchesSchema, raw.switches, ['switches']);
  let base: Policy | undefined;
  if (top) {
    const b = lookup(top.base);
    if ('known' in b) pr.add(['base'], `a built-in policy or a kernel release (${b.known})`, showValue(top.base));
    else base = b;
  }
  const id = top?.id ?? basename(file, extname(file));
  // A variant named like a built-in would read as the built-in in every table and document.
  if (top && !('known' in lookup(id))) {
    pr.add(
      ['id'],
      `an id that names no built-in policy or kernel version${top.id === undefined ? ' (the id comes from the file name when the file gives none)' : ''}`,
      showValue(id),
    );
  }
  if (!pr.empty || !top || !base || !switches) throw new PolicyFileError(file, pr.list);
  const delta = switches as Partial<PolicySwitches>;
  const changed = changedSwitches(base, delta);
  return {
    ...withSwitches(base, delta),
    id,
    description: top.description ?? `${base.id} with ${changed.length ? changed.join(', ') : 'no switch changed'} (${file})`,
    source: top.source ?? `policy file ${file}`,
  };
}

/** Load and validate a policy file (.yaml/.yml/.json). */
export function loadPolicyFile(path: string, lookup: BaseLookup): Policy {
  const err = (f: string, ps: readonly ScenarioProblem[]) => new PolicyFileError(f, ps);
  const { text, format } = readInputFile(path, 'policy', err);
  return parseDocumentText(text, path, format, (obj) => validatePolicyFile(obj, path, lookup), err);
}
