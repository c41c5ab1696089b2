// Test scaffolding (not kernel code): build a folio record directly in shared memory, in the
// state a test needs, with a consistent reference ledger (refcount = sum of the holders given).
import { type HOLDER_NAMES, Holder, Lru, MappingKind, MigrateType, PG, Zone, type PageFlagName } from '../../src/mm/constants.js';
import { folio_lru_list } from '../../src/mm/mm_inline.js';
import { F, FOLIO_WORDS, FolioState, G, folioBase } from '../../src/mm/layout.js';
import type { InlineKernel } from '../../src/runtime/inline.js';

export type HolderName = (typeof HOLDER_NAMES)[number];

export interface FolioOpts {
  /** Page flags by name, e.g. ['lru', 'mlocked']. `head` is implied by order > 0. */
  flags?: PageFlagName[];
  order?: number;
  /** MappingKind (default NONE; ANON also sets PG_swapbacked unless `noSwapbacked`). */
  mapping?: number;
  noSwapbacked?: boolean;
  mt?: number;
  zone?: number;
  /** References per holder, e.g. { PAGECACHE: 1, MAP: 1 }. Default { TEMP: 1 }. */
  holders?: Partial<Record<HolderName, number>>;
  /** True number of mappings (default: the MAP holder count). */
  mapcount?: number;
  /** Locked-VMA mappings (F.LOCKED_MAPS, for invariant checks). */
  lockedMaps?: number;
  mlockCount?: number;
  pincount?: number;
  /** LRU list the folio is linked on: 'auto' = the list its flags select (needs PG_lru). Default: 'auto' if PG_lru, else none. */
  lru?: number | 'auto';
}

/** Allocate a slot from the allocator cursor and initialise it as `opts` says. */
export function makeFolio(k: InlineKernel, opts: FolioOpts = {}): number {
  const w = k.w;
  const folio = Atomics.add(w, G.NEXT_FREE_FOLIO, 1);
  if (folio >= k.lay.dims.nFolios) throw new RangeError(`makeFolio: out of folio slots (${k.lay.dims.nFolios})`);
  const b = folioBase(folio);
  for (let i = 0; i < FOLIO_WORDS; i++) w[b + i] = 0;
  const order = opts.order ?? 0;
  const mapping = opts.mapping ?? MappingKind.NONE;
  let flags = order > 0 ? PG.head : 0;
  for (const f of opts.flags ?? []) flags |= PG[f];
  if (mapping === MappingKind.ANON && !opts.noSwapbacked) flags |= PG.swapbacked;
  w[b + F.FLAGS] = flags;
  w[b + F.ORDER] = order;
  w[b + F.MAPPING] = mapping;
  w[b + F.MAPPING_ID] = -1;
  w[b + F.MT] = opts.mt ?? MigrateType.MOVABLE;
  w[b + F.ZONE] = opts.zone ?? Zone.NORMAL;
  w[b + F.PFN] = 0x100000 + folio * 16;
  const holders = opts.holders ?? { TEMP: 1 };
  let ref = 0;
  for (const [name, n] of Object.entries(holders)) {
    const h = Holder[name as HolderName];
    w[b + F.LEDGER + h] = n!;
    ref += n!;
  }
  w[b + F.REF] = ref;
  w[b + F.MAPCOUNT] = (opts.mapcount ?? holders.MAP ?? 0) - 1;
  w[b + F.LOCKED_MAPS] = opts.lockedMaps ?? 0;
  w[b + F.PINCOUNT] = opts.pincount ?? 0;
  w[b + F.STATE] = FolioState.ALLOCATED;
  const lru = opts.lru ?? (flags & PG.lru ? 'auto' : Lru.NONE);
  w[b + F.LRU] = lru === 'auto' ? folio_lru_list(k.ctx(0), folio) : lru;
  w[b + F.MLOCK_COUNT] = opts.mlockCount ?? 0;
  return folio;
}
