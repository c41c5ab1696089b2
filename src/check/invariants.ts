// The invariant checker of spec §10 (I1-I18 where a state snapshot can show them), version-aware:
// a violation that the policy's switches permit comes back with `permittedBy` set, as a finding
// about that kernel variant rather than an emulator bug. Call it at a quiescent point (no CPU
// inside a critical section, e.g. after a trial). One pass over the batches, one over the folios.
// Reads plain words only: works on the live SharedArrayBuffer or on a copy. No kernel code.
import {
  BATCH_NAMES,
  BATCH_SLOTS,
  Batch,
  GUP_PIN_COUNTING_BIAS,
  HOLDER_NAMES,
  Holder,
  Lru,
  LRU_NAMES,
  NR_BATCHES,
  NR_HOLDERS,
  PG,
  TOMBSTONE,
  type HolderId,
} from '../mm/constants.js';
import { C, COORDINATOR, F, FOLIO_WORDS, FolioState, G, Stat, batchBase, cpuBase, folioBase, type Layout } from '../mm/layout.js';
import { evictable_of, longterm_pinnable_of } from '../mm/folio.js';
import { lru_list_of_flags } from '../mm/mm_inline.js';
import type { Policy, PolicySwitches } from '../mm/policy.js';
import { attributeRefs, decodeMlockEntry, folioLabel, ledgerSummary, pageFlagsText, type BatchEntryRef, type MlockOpName } from './ledger.js';

export type InvariantId = 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6' | 'I7' | 'I8' | 'I9' | 'I10' | 'I11' | 'I12' | 'I13' | 'I14' | 'I15' | 'I16' | 'I17' | 'I18';

export interface Violation {
  id: InvariantId;
  folio?: number;
  pfn?: number;
  cpu?: number;
  /** Self-contained line: names the invariant, the folio (index and pfn), the holder and the counts. */
  message: string;
  /**
   * Set when the policy permits this violation (spec §10 "Scope / versions"): the switch setting
   * that permits it (`lruClearOnQueue=true`, `mlockClearsLru=skipOnFail`, ...), or `race: ...` for
   * a violation the spec permits as a rare kernel race in every version. Unset = emulator bug.
   */
  permittedBy?: string;
}

/** One finished pin_user_pages(FOLL_LONGTERM) call, for I9/I10. */
export interface PinCheckRecord {
  /** Call id, for messages. */
  id?: number;
  cpu: number;
  /** Pages pinned (> 0) or a negative errno. */
  rc: number;
  /** Folios returned pinned (rc > 0). */
  folios: readonly number[];
  /** FOLL_PIN pins the call still held when it returned (I10: must be 0 when rc <= 0). */
  heldPins?: number;
}

/** What the checker remembers between calls (I17: drainGen never decreases within a trial). */
export interface CheckerHistory {
  lastDrainGen: number;
  /** G.TRIAL_GEN at the last call; a new trial resets memory, so the baseline resets too. */
  lastTrialGen: number;
}

export interface CheckOptions {
  /**
   * The caller asserts quiescent-all (spec §10: all batches drained, no isolation in progress):
   * I7, I8 and I11 are then checked on every allocated folio. Otherwise only on folios that are
   * quiescent themselves (no batch entry names them, no batch or isolation reference).
   */
  quiescentAll?: boolean;
  /** Finished pin_user_pages calls to check (I9, I10). */
  pins?: readonly PinCheckRecord[];
  /** Memory between calls (I17); InvariantChecker passes its own. */
  history?: CheckerHistory;
  /** Stop after this many violations (a systemic bug would otherwise list every folio). */
  limit?: number;
}

type AnyPolicy = Policy | PolicySwitches;
function switchesOf(p: AnyPolicy): PolicySwitches {
  return 'switches' in p ? p.switches : p;
}

/** Per-folio facts gathered from the batch pass. */
interface EntryInfo {
  lru: number; // LRU-batch entries (any CPU, any kind)
  nonAdd: number; // ... of which not lru_add
  add: number; // lru_add entries
  mlock: number; // mlock-batch entries (any op)
  mlockOnList: number; // MLOCK or MUNLOCK entries (not NEW)
  mlockNew: number; // NEW entries
  refs: BatchEntryRef[];
}

class Collector {
  readonly out: Violation[] = [];
  constructor(private readonly limit: number) {}
  get full(): boolean {
    return this.out.length >= this.limit;
  }
  add(v: Violation): void {
    if (this.out.length < this.limit) this.out.push(v);
  }
}

/** Sum of a per-CPU event counter over the emulated CPUs and the coordinator. */
export function sumStat(w: Int32Array, lay: Layout, stat: number): number {
  let s = 0;
  for (let cpu = 0; cpu < lay.dims.nCpus; cpu++) s += w[cpuBase(cpu) + C.STATS + stat]!;
  return s + w[cpuBase(COORDINATOR) + C.STATS + stat]!;
}

const lruListOf = lru_list_of_flags;

function lruName(l: number): string {
  return LRU_NAMES[l] ?? `list ${l}`;
}

/**
 * checkInvariants(): the violations of spec §10 visible in this memory state, version-aware.
 * Checked: I1 I2 I3 I4 I5 I6 I7 I8 I11 I12 I13 I16 I18 from state; I17 across calls (history);
 * I9 I10 from the pin records passed. I14 and I15 are properties of code paths, not of a state
 * (see docs/fidelity/invariants.md).
 */
export function checkInvariants(w: Int32Array, lay: Layout, policy: AnyPolicy, opts: CheckOptions = {}): Violation[] {
  const sw = switchesOf(policy);
  const col = new Collector(opts.limit ?? Number.POSITIVE_INFINITY);
  const nFolios = lay.dims.nFolios;
  const info = new Map<number, EntryInfo>();
  const disabled = w[G.LRU_DISABLE_COUNT]! > 0;
  const cap = sw.batchCapacity;

  // ---- pass 1: every CPU's batches (I13, and per-folio entry counts for I2/I4/I5/I6) ----
  for (let cpu = 0; cpu < lay.dims.nCpus; cpu++) {
    for (let b = 0; b < NR_BATCHES; b++) {
      const bb = batchBase(cpu, b);
      const rawNr = w[bb]!;
      const bname = BATCH_NAMES[b]!;
      if (rawNr < 0 || rawNr > BATCH_SLOTS) {
        col.add({ id: 'I13', cpu, message: `I13 cpu ${cpu} ${bname} batch: corrupt nr ${rawNr} (slots 0..${BATCH_SLOTS})` });
        continue;
      }
      if (rawNr > cap - 1) {
        col.add({
          id: 'I13',
          cpu,
          message: `I13 cpu ${cpu} ${bname} batch: ${rawNr} entries at rest > capacity ${cap} - 1 (a full batch must be processed by the add that filled it)`,
        });
      }
      let live = 0;
      for (let i = 0; i < rawNr; i++) {
        const e = w[bb + 1 + i]!;
        if (e === TOMBSTONE) continue;
        live++;
        let folio: number;
        let op: MlockOpName | undefined;
        if (b === Batch.mlock) ({ folio, op } = decodeMlockEntry(e));
        else folio = e;
        const where = `cpu ${cpu} ${bname}${op ? ' ' + op : ''} slot ${i}`;
        if (folio < 0 || folio >= nFolios) {
          col.add({ id: 'I2', cpu, message: `I2 ${where}: entry ${e} names no folio (folio table has ${nFolios})` });
          continue;
        }
        const fb = folioBase(folio);
        const state = w[fb + F.STATE]!;
        if (state !== FolioState.ALLOCATED) {
          col.add({
            id: 'I2',
            cpu,
            folio,
            pfn: w[fb + F.PFN]!,
            message: `I2 ${folioLabel(folio, w[fb + F.PFN]!)}: ${where} names a ${state === FolioState.FREED ? 'freed' : 'never allocated'} folio (the entry's reference was dropped twice or never taken)`,
          });
          continue;
        }
        if (w[fb + F.ORDER]! > 0) {
          col.add({
            id: 'I13',
            cpu,
            folio,
            pfn: w[fb + F.PFN]!,
            message: `I13 ${folioLabel(folio, w[fb + F.PFN]!)}: large folio (order ${w[fb + F.ORDER]}) rests in ${where} (large folios are processed at once)`,
          });
        }
        let fi = info.get(folio);
        if (!fi) {
          fi = { lru: 0, nonAdd: 0, add: 0, mlock: 0, mlockOnList: 0, mlockNew: 0, refs: [] };
          info.set(folio, fi);
        }
        const ref: BatchEntryRef = { cpu, batch: bname, slot: i };
        if (op) ref.op = op;
        fi.refs.push(ref);
        if (b === Batch.mlock) {
          fi.mlock++;
          if (op === 'NEW') fi.mlockNew++;
          else fi.mlockOnList++;
        } else {
          fi.lru++;
          if (b === Batch.lru_add) fi.add++;
          else fi.nonAdd++;
        }
      }
      if (disabled && live > 0) {
        col.add({
          id: 'I13',
          cpu,
          message: `I13 cpu ${cpu} ${bname} batch: ${live} entr${live === 1 ? 'y rests' : 'ies rest'} while lru_disable_count = ${w[G.LRU_DISABLE_COUNT]} (every add must be processed at once)`,
        });
      }
    }
  }

  // ---- pass 2: every folio. A cheap screen on raw words; only a folio that may break an
  // invariant goes through checkFolio(), which builds the messages. ----
  const mlockedPages = screenFolios(w, lay, sw, opts, col, info);

  // ---- I12: NR_MLOCK ----
  if (!col.full) {
    const nrMlock = sumStat(w, lay, Stat.NR_MLOCK);
    if (nrMlock !== mlockedPages) {
      col.add({ id: 'I12', message: `I12 NR_MLOCK ${nrMlock} (sum of per-CPU deltas) != ${mlockedPages} pages in PG_mlocked folios` });
    }
  }

  // ---- I13 while lru_cache_disable() is in effect is above; I17: drainGen ----
  const gen = w[G.DRAIN_GEN]!;
  const trialGen = w[G.TRIAL_GEN]!;
  const h = opts.history;
  if (h) {
    if (h.lastTrialGen === trialGen && gen < h.lastDrainGen) {
      col.add({ id: 'I17', message: `I17 drainGen went backwards: ${h.lastDrainGen} -> ${gen} within trial ${trialGen}` });
    }
    h.lastTrialGen = trialGen;
    h.lastDrainGen = gen;
  }
  const started = sumStat(w, lay, Stat.LRU_ADD_DRAIN_ALL) - sumStat(w, lay, Stat.DRAIN_ALL_GEN_SKIP);
  if (gen > started) {
    col.add({ id: 'I17', message: `I17 drainGen ${gen} > ${started} lru_add_drain_all() calls that did not skip (each bumps it once)` });
  }

  // ---- I9, I10: pin records ----
  for (const p of opts.pins ?? []) {
    const call = `pin_user_pages call${p.id !== undefined ? ' ' + p.id : ''} on cpu ${p.cpu}`;
    if (p.rc > 0) {
      for (const folio of p.folios) {
        if (folio < 0 || folio >= nFolios) continue;
        const fb = folioBase(folio);
        const mt = w[fb + F.MT]!;
        const zone = w[fb + F.ZONE]!;
        if (!longterm_pinnable_of(mt, zone)) {
          const v: Violation = {
            id: 'I9',
            folio,
            pfn: w[fb + F.PFN]!,
            cpu: p.cpu,
            message: `I9 ${folioLabel(folio, w[fb + F.PFN]!)}: ${call} returned ${p.rc} with this folio long-term pinned in unpinnable memory (mt=${mt}, zone ${zone})`,
          };
          if (sw.gupEmptyListSucceeds) v.permittedBy = 'gupEmptyListSucceeds=true';
          col.add(v);
        }
      }
    } else if ((p.heldPins ?? 0) !== 0) {
      col.add({ id: 'I10', cpu: p.cpu, message: `I10 ${call} returned ${p.rc} still holding ${p.heldPins} pin${p.heldPins === 1 ? '' : 's'}` });
    }
  }
  return col.out;
}

const NO_INFO: EntryInfo = { lru: 0, nonAdd: 0, add: 0, mlock: 0, mlockOnList: 0, mlockNew: 0, refs: [] };
// Hot-loop constants (module-level, so the screen reads locals, not imported objects).
const FOLIO_TABLE = folioBase(0);
const F_STATE = F.STATE,
  F_REF = F.REF,
  F_LEDGER = F.LEDGER,
  F_FLAGS = F.FLAGS,
  F_ORDER = F.ORDER,
  F_LRU = F.LRU;
const F_PINCOUNT = F.PINCOUNT,
  F_MLOCK_COUNT = F.MLOCK_COUNT,
  F_LOCKED_MAPS = F.LOCKED_MAPS;
const ST_FREE = FolioState.FREE,
  ST_ALLOCATED = FolioState.ALLOCATED;
const PG_LRU = PG.lru,
  PG_MLOCKED = PG.mlocked,
  PG_UNEVICTABLE = PG.unevictable;
const H_GUP_PIN = Holder.GUP_PIN,
  H_ISOLATION = Holder.ISOLATION,
  H_LRU_BATCH = Holder.LRU_BATCH,
  H_MLOCK_BATCH = Holder.MLOCK_BATCH;

/** Pass 2: screen every folio slot; returns the pages of PG_mlocked folios (for I12). */
function screenFolios(w: Int32Array, lay: Layout, sw: PolicySwitches, opts: CheckOptions, col: Collector, info: Map<number, EntryInfo>): number {
  let mlockedPages = 0;
  const clearOnQueue = sw.lruClearOnQueue;
  // Slots are handed out by the allocator cursor (folio_alloc): none past it was ever used.
  const nFolios = Math.min(lay.dims.nFolios, Math.max(0, w[G.NEXT_FREE_FOLIO]!));
  for (let f = 0; f < nFolios && !col.full; f++) {
    const fb = FOLIO_TABLE + f * FOLIO_WORDS;
    const state = w[fb + F_STATE]!;
    if (state === ST_FREE) continue;
    let sum = 0;
    let neg = false;
    for (let h = fb + F_LEDGER, e = fb + F_LEDGER + NR_HOLDERS; h < e; h++) {
      const v = w[h]!;
      sum += v;
      if (v < 0) neg = true;
    }
    const ref = w[fb + F_REF]!;
    const fi = info.get(f);
    if (state !== ST_ALLOCATED) {
      // Non-negative holders summing to 0 are all 0.
      if (ref !== 0 || sum !== 0 || neg) checkFolio(w, lay, sw, opts, col, f, fi ?? NO_INFO);
      continue;
    }
    const flags = w[fb + F_FLAGS]!;
    const order = w[fb + F_ORDER]!;
    if (flags & PG_MLOCKED) mlockedPages += 1 << order;
    const lru = w[fb + F_LRU]!;
    const onLru = (flags & PG_LRU) !== 0;
    const unev = (flags & PG_UNEVICTABLE) !== 0;
    const pinRefs = w[fb + F_LEDGER + H_GUP_PIN]!;
    const pincount = w[fb + F_PINCOUNT]!;
    const mlockCount = w[fb + F_MLOCK_COUNT]!;
    const iso = w[fb + F_LEDGER + H_ISOLATION]!;
    const nLru = fi ? fi.lru : 0;
    const nMlock = fi ? fi.mlock : 0;
    const suspicious =
      ref !== sum ||
      neg ||
      (order > 0 ? pincount !== pinRefs : pinRefs % GUP_PIN_COUNTING_BIAS !== 0 || pincount !== 0) ||
      w[fb + F_LEDGER + H_LRU_BATCH] !== nLru ||
      w[fb + F_LEDGER + H_MLOCK_BATCH] !== nMlock ||
      lru < Lru.NONE ||
      lru > Lru.UNEVICTABLE ||
      (onLru && lru === Lru.NONE) ||
      (lru !== Lru.NONE && (!onLru || lru !== lruListOf(flags))) ||
      (fi !== undefined && (fi.add > 0 || fi.mlockNew > 0) && (onLru || lru !== Lru.NONE)) ||
      (clearOnQueue && (nLru > 1 || (nLru === 1 && onLru))) ||
      (onLru && (flags & PG_MLOCKED) !== 0 && !unev) ||
      (onLru && unev && ((flags & PG_MLOCKED) === 0 || mlockCount > w[fb + F_LOCKED_MAPS]!)) ||
      mlockCount < 0 ||
      (mlockCount !== 0 && lru !== Lru.UNEVICTABLE) ||
      iso > 1 ||
      (iso === 1 && (onLru || lru !== Lru.NONE));
    if (suspicious) checkFolio(w, lay, sw, opts, col, f, fi ?? NO_INFO);
  }
  return mlockedPages;
}

/** The per-folio invariants with their messages (only for folios the screen flagged). */
function checkFolio(w: Int32Array, lay: Layout, sw: PolicySwitches, opts: CheckOptions, col: Collector, f: number, fi: EntryInfo): void {
  const fb = folioBase(f);
  const state = w[fb + F.STATE]!;
  if (state === FolioState.FREE) return;
  const ref = w[fb + F.REF]!;
  let sum = 0;
  let negHolder = -1;
  for (let h = 0; h < NR_HOLDERS; h++) {
    const v = w[fb + F.LEDGER + h]!;
    sum += v;
    if (v < 0 && negHolder < 0) negHolder = h;
  }
  const pfn = w[fb + F.PFN]!;
  const attr = () => attributeRefs(w, lay, f, fi.refs);
  const label = folioLabel(f, pfn);

  if (state === FolioState.FREED) {
    if (ref !== 0 || sum !== 0 || negHolder >= 0) {
      col.add({
        id: 'I1',
        folio: f,
        pfn,
        message: `I1 ${label}: freed with refcount ${ref}, ledger sum ${sum} (${ledgerSummary(attr())}); a freed folio must have refcount 0 and no holders`,
      });
    }
    return;
  }

  const flags = w[fb + F.FLAGS]!;
  const order = w[fb + F.ORDER]!;
  const lru = w[fb + F.LRU]!;
  const onLru = (flags & PG.lru) !== 0;
  const ledger = (h: HolderId) => w[fb + F.LEDGER + h]!;

  // I1: refcount conservation, pin accounting.
  if (ref !== sum) {
    col.add({ id: 'I1', folio: f, pfn, message: `I1 ${label}: refcount ${ref} != ledger sum ${sum} (${ledgerSummary(attr())})` });
  } else if (negHolder >= 0) {
    col.add({
      id: 'I1',
      folio: f,
      pfn,
      message: `I1 ${label}: holder ${holderName(negHolder)} holds ${ledger(negHolder as HolderId)} refs (released more than it took); refcount ${ref} (${ledgerSummary(attr())})`,
    });
  }
  const pinRefs = ledger(Holder.GUP_PIN);
  const pincount = w[fb + F.PINCOUNT]!;
  if (order > 0) {
    if (pincount !== pinRefs) {
      col.add({
        id: 'I1',
        folio: f,
        pfn,
        message: `I1 ${label}: large folio _pincount ${pincount} != GUP_PIN pins ${pinRefs} (refcount ${ref}: ${ledgerSummary(attr())})`,
      });
    }
  } else {
    if (pinRefs % GUP_PIN_COUNTING_BIAS !== 0) {
      col.add({
        id: 'I1',
        folio: f,
        pfn,
        message: `I1 ${label}: small folio GUP_PIN holds ${pinRefs} refs, not a multiple of GUP_PIN_COUNTING_BIAS ${GUP_PIN_COUNTING_BIAS} (refcount ${ref}: ${ledgerSummary(attr())})`,
      });
    }
    if (pincount !== 0) {
      col.add({ id: 'I1', folio: f, pfn, message: `I1 ${label}: small folio has _pincount ${pincount} (small folios count pins in refcount only)` });
    }
  }

  // I2: one reference per batch entry, per kind.
  const lruRefs = ledger(Holder.LRU_BATCH);
  if (lruRefs !== fi.lru) {
    col.add({
      id: 'I2',
      folio: f,
      pfn,
      message: `I2 ${label}: LRU_BATCH holds ${lruRefs} ref${lruRefs === 1 ? '' : 's'} but ${fi.lru} LRU batch entr${fi.lru === 1 ? 'y names' : 'ies name'} it (refcount ${ref}: ${ledgerSummary(attr())})`,
    });
  }
  const mlRefs = ledger(Holder.MLOCK_BATCH);
  if (mlRefs !== fi.mlock) {
    col.add({
      id: 'I2',
      folio: f,
      pfn,
      message: `I2 ${label}: MLOCK_BATCH holds ${mlRefs} ref${mlRefs === 1 ? '' : 's'} but ${fi.mlock} mlock batch entr${fi.mlock === 1 ? 'y names' : 'ies name'} it (refcount ${ref}: ${ledgerSummary(attr())})`,
    });
  }

  // I3: PG_lru => on exactly one list; the list is the one the flags select.
  if (lru < Lru.NONE || lru > Lru.UNEVICTABLE) {
    col.add({ id: 'I3', folio: f, pfn, message: `I3 ${label}: corrupt LRU list id ${lru}` });
  } else if (onLru && lru === Lru.NONE) {
    col.add({ id: 'I3', folio: f, pfn, message: `I3 ${label}: PG_lru set but on no LRU list (flags ${pageFlagsText(flags)})` });
  } else if (lru !== Lru.NONE && lru !== lruListOf(flags)) {
    col.add({
      id: 'I3',
      folio: f,
      pfn,
      message: `I3 ${label}: linked on ${lruName(lru)} but its flags (${pageFlagsText(flags)}) select ${lruName(lruListOf(flags))}`,
    });
  }

  // I4: on a list with PG_lru clear only while a queue-time-clearing batch entry owns the linkage.
  if (lru !== Lru.NONE && !onLru) {
    const ownedByLruEntry = sw.lruClearOnQueue && fi.nonAdd > 0;
    const ownedByMlockEntry = sw.mlockClearsLru !== 'off' && fi.mlockOnList > 0;
    if (!ownedByLruEntry && !ownedByMlockEntry) {
      col.add({
        id: 'I4',
        folio: f,
        pfn,
        message: `I4 ${label}: on ${lruName(lru)} with PG_lru clear at rest, and no ${sw.lruClearOnQueue ? 'non-add LRU batch entry' : 'batch processing or isolation'} owns it (flags ${pageFlagsText(flags)}; ${ledgerSummary(attr())})`,
      });
    }
  }

  // I5: an lru_add or NEW mlock entry means the folio is not on the LRU yet.
  if ((fi.add > 0 || fi.mlockNew > 0) && (onLru || lru !== Lru.NONE)) {
    const which = fi.add > 0 ? 'an lru_add' : 'a NEW mlock';
    col.add({
      id: 'I5',
      folio: f,
      pfn,
      message: `I5 ${label}: in ${which} batch entry but ${onLru ? 'PG_lru is set' : ''}${onLru && lru !== Lru.NONE ? ' and ' : ''}${lru !== Lru.NONE ? `linked on ${lruName(lru)}` : ''} (${ledgerSummary(attr())})`,
    });
  }

  // I6 (6.11+ only): at most one LRU batch entry, and then PG_lru clear (David's invariant).
  if (sw.lruClearOnQueue) {
    if (fi.lru > 1) {
      col.add({
        id: 'I6',
        folio: f,
        pfn,
        message: `I6 ${label}: ${fi.lru} LRU batch entries with lruClearOnQueue (at most one: the queue-time PG_lru test-and-clear admits one) (${ledgerSummary(attr())})`,
      });
    } else if (fi.lru === 1 && onLru) {
      col.add({
        id: 'I6',
        folio: f,
        pfn,
        message: `I6 ${label}: PG_lru set while an LRU batch entry holds it with lruClearOnQueue (${ledgerSummary(attr())})`,
      });
    }
  }

  // Folio-level quiescence for the quiescent-all invariants.
  const quiet = opts.quiescentAll === true || (fi.lru === 0 && fi.mlock === 0 && lruRefs === 0 && mlRefs === 0 && ledger(Holder.ISOLATION) === 0);
  const mlocked = (flags & PG.mlocked) !== 0;
  const unevictable = (flags & PG.unevictable) !== 0;

  // I7: mlocked and on the LRU => unevictable.
  if (quiet && mlocked && onLru && !unevictable) {
    const v: Violation = {
      id: 'I7',
      folio: f,
      pfn,
      message: `I7 ${label}: PG_mlocked on the evictable ${lruName(lru)} list once processed (flags ${pageFlagsText(flags)}; mlocked mappings ${w[fb + F.LOCKED_MAPS]})`,
    };
    if (sw.lruClearOnQueue) v.permittedBy = 'lruClearOnQueue=true';
    else if (sw.mlockClearsLru !== 'off') v.permittedBy = `mlockClearsLru=${sw.mlockClearsLru}`;
    else v.permittedBy = 'race: __mlock_folio during a concurrent LRU batch move (all versions, spec §10 I7)';
    col.add(v);
  }

  // I8: unevictable placement is justified (else "stranded").
  const evictable = evictable_of(w[fb + F.MAPPING]!, flags);
  if (quiet && unevictable && onLru && evictable) {
    const v: Violation = {
      id: 'I8',
      folio: f,
      pfn,
      message: `I8 ${label}: stranded on the unevictable list although evictable (flags ${pageFlagsText(flags)}, mlock_count ${w[fb + F.MLOCK_COUNT]}, mlocked mappings ${w[fb + F.LOCKED_MAPS]})`,
    };
    if (sw.mlockClearsLru === 'skipOnFail') v.permittedBy = 'mlockClearsLru=skipOnFail';
    col.add(v);
  }

  // I11: mlock_count (meaningful on the unevictable LRU) never exceeds the locked mappings.
  const mlockCount = w[fb + F.MLOCK_COUNT]!;
  const lockedMaps = w[fb + F.LOCKED_MAPS]!;
  if ((quiet || (fi.mlock === 0 && mlRefs === 0)) && onLru && unevictable && mlockCount > lockedMaps) {
    const v: Violation = {
      id: 'I11',
      folio: f,
      pfn,
      message: `I11 ${label}: mlock_count ${mlockCount} > ${lockedMaps} locked mapping${lockedMaps === 1 ? '' : 's'} (overcount; flags ${pageFlagsText(flags)})`,
    };
    if (sw.mlockClearsLru !== 'off') v.permittedBy = `mlockClearsLru=${sw.mlockClearsLru}`;
    col.add(v);
  }

  // I16: mlock_count never negative, and only set on the unevictable LRU.
  if (mlockCount < 0) {
    col.add({ id: 'I16', folio: f, pfn, message: `I16 ${label}: mlock_count ${mlockCount} < 0 (__munlock_folio decremented below zero)` });
  } else if (mlockCount !== 0 && lru !== Lru.UNEVICTABLE) {
    col.add({
      id: 'I16',
      folio: f,
      pfn,
      message: `I16 ${label}: mlock_count ${mlockCount} on a folio ${lru === Lru.NONE ? 'on no LRU list' : `on ${lruName(lru)}`} (only meaningful on the unevictable LRU)`,
    });
  }

  // I18: isolation = one reference, off every list, PG_lru clear.
  const iso = ledger(Holder.ISOLATION);
  if (iso > 1) {
    col.add({
      id: 'I18',
      folio: f,
      pfn,
      message: `I18 ${label}: ISOLATION holds ${iso} refs (only the PG_lru test-and-clear winner may isolate) (${ledgerSummary(attr())})`,
    });
  } else if (iso === 1 && (onLru || lru !== Lru.NONE)) {
    col.add({
      id: 'I18',
      folio: f,
      pfn,
      message: `I18 ${label}: isolated (ISOLATION 1) but ${onLru ? 'PG_lru set' : ''}${onLru && lru !== Lru.NONE ? ' and ' : ''}${lru !== Lru.NONE ? `still linked on ${lruName(lru)}` : ''}`,
    });
  }
}

function holderName(h: number): string {
  return HOLDER_NAMES[h] ?? `holder ${h}`;
}

/** A checker that remembers what it saw between calls (I17). One per run; survives trials. */
export class InvariantChecker implements CheckerHistory {
  lastDrainGen = -1;
  lastTrialGen = Number.NaN;
  constructor(private readonly policy: AnyPolicy) {}
  check(w: Int32Array, lay: Layout, opts: Omit<CheckOptions, 'history'> = {}): Violation[] {
    return checkInvariants(w, lay, this.policy, { ...opts, history: this });
  }
}

/** Violations that are emulator bugs (no variant permits them). */
export function emulatorBugs(vs: readonly Violation[]): Violation[] {
  return vs.filter((v) => v.permittedBy === undefined);
}
