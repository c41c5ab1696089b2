// Scenario S5 at server scale, for `study pin-storm --cpus --pinners --faulters`: more vCPU
// threads pinning guest memory, more CPUs keeping an lru_add batch busy, on a machine of more
// CPUs. The scaled scenario is S5's own scripts replicated (so an edit of S5 carries over), in
// S5's layout: the pinners first (S5's CPUs 0-3), then one idle CPU (S5's CPU 4), the CPU with
// the stale entry and the non-preemptible stretches (S5's CPU 5), the faulters (S5's CPU 6), and
// every other CPU idle (no script: only its kworker runs, and only when drain work is queued).
// Each pinner pins pages of its own (S5's 8 per pinner) and each faulter faults its own slice of
// one anonymous VMA (S5's 64 pages), as threads of one VMM and of one busy process would.
import type { Op, Scenario } from '../scenario/schema.js';

/** S5's roles: the CPUs whose scripts the scaled scenario copies. */
const S5_PINNERS = [0, 1, 2, 3];
const S5_HOG = 5;
const S5_FAULTER = 6;
/** The VMAs whose pages each copy of a script shifts to a range of its own. */
const GUEST = 'guest';
const GUEST_OBJECT = 'guestmem';
const BUSY = 'busy_heap';

export interface PinStormScale {
  /** CPUs of the machine (S5: 8). */
  cpus: number;
  /** vCPU threads pinning guest pages, CPUs 0..pinners-1 (S5: 4). */
  pinners: number;
  /** CPUs faulting anonymous pages continuously, keeping their lru_add batches non-empty (S5: 1). */
  faulters: number;
}
export const S5_SCALE: PinStormScale = { cpus: 8, pinners: 4, faulters: 1 };

/** CPUs a scale needs: the pinners, S5's idle CPU, the hog CPU, the faulters. */
export const cpusNeeded = (s: Pick<PinStormScale, 'pinners' | 'faulters'>): number => s.pinners + 2 + s.faulters;

/** The hog CPU of a scale (S5's CPU 5): right after the pinners and one idle CPU. */
export const hogCpuOf = (s: Pick<PinStormScale, 'pinners'>): number => s.pinners + 1;

/**
 * CPU `from`'s ops of S5 as CPU `to` runs them: every page of `vma` moved by `delta` (repeat
 * bodies included), and each op's path (what messages name) made the scaled scenario's own.
 */
function placed(ops: readonly Op[], from: number, to: number, vma: string | null, delta: number): Op[] {
  const pre = `steps.${from}[`;
  return ops.map((op) => {
    let out = op.path?.startsWith(pre) ? { ...op, path: `steps.${to}[${op.path.slice(pre.length)}` } : op;
    if (out.op === 'repeat') out = { ...out, ops: placed(out.ops, from, to, vma, delta) };
    else if (vma !== null && 'vma' in out && out.vma === vma && 'page' in out && typeof out.page === 'number') out = { ...out, page: out.page + delta } as Op;
    return out;
  });
}

/** The VMA of S5 named `name` (the scaling relies on S5 keeping it). */
function vmaOf(s5: Scenario, name: string) {
  const v = s5.vmas.find((x) => x.name === name);
  if (!v) throw new Error(`pin-storm scale: S5 has no VMA '${name}'`);
  return v;
}

/**
 * S5 scaled to `scale`; S5 itself at S5_SCALE (the same setup and scripts). Throws a RangeError
 * naming the field when the roles do not fit in the CPUs.
 */
export function scaleS5(s5: Scenario, scale: PinStormScale): Scenario {
  const { cpus, pinners, faulters } = scale;
  if (!Number.isInteger(pinners) || pinners < 1) throw new RangeError(`pinners: expected an integer of at least 1, got ${pinners}`);
  if (!Number.isInteger(faulters) || faulters < 0) throw new RangeError(`faulters: expected an integer of at least 0, got ${faulters}`);
  if (cpusNeeded(scale) > cpus)
    throw new RangeError(
      `cpus: ${cpus} CPUs cannot hold ${pinners} pinner(s), an idle CPU, the hog CPU and ${faulters} faulter(s) (${cpusNeeded(scale)} CPUs)`,
    );
  const guest = vmaOf(s5, GUEST);
  const busy = vmaOf(s5, BUSY);
  for (const c of [...S5_PINNERS, S5_HOG, S5_FAULTER]) if (!s5.steps[c]) throw new Error(`pin-storm scale: S5 has no script for CPU ${c}`);
  // Pages per pinner: S5's guest memory split between its pinners (8 each).
  const perPinner = guest.pages / S5_PINNERS.length;
  const perFaulter = busy.pages;
  const pinner = S5_PINNERS[0]!;
  const hog = hogCpuOf(scale);
  const steps: Scenario['steps'] = {};
  for (let i = 0; i < pinners; i++) steps[i] = placed(s5.steps[pinner]! as Op[], pinner, i, GUEST, i * perPinner);
  steps[hog] = placed(s5.steps[S5_HOG]! as Op[], S5_HOG, hog, null, 0);
  for (let j = 0; j < faulters; j++) steps[hog + 1 + j] = placed(s5.steps[S5_FAULTER]! as Op[], S5_FAULTER, hog + 1 + j, BUSY, j * perFaulter);
  const guestPages = pinners * perPinner;
  const same = cpus === S5_SCALE.cpus && pinners === S5_SCALE.pinners && faulters === S5_SCALE.faulters;
  return {
    ...s5,
    id: same ? s5.id : `${s5.id}-${cpus}cpus-${pinners}p-${faulters}f`,
    title: same ? s5.title : `${s5.title}, scaled: ${cpus} CPUs, ${pinners} pinning vCPUs, ${faulters} faulting CPUs`,
    // S5's text names S5's CPUs: say where each role went.
    description: same
      ? s5.description
      : `S5 scaled (study pin-storm): CPUs 0-${pinners - 1} pin as S5's CPUs 0-3, CPU ${pinners} is idle as S5's CPU 4, CPU ${hogCpuOf(scale)} runs S5's CPU 5 script${faulters ? `, CPUs ${hogCpuOf(scale) + 1}-${hogCpuOf(scale) + faulters} fault as S5's CPU 6` : ''}; the other CPUs are idle. S5 reads:\n${s5.description}`,
    cpus,
    objects: s5.objects.map((o) => (o.name === GUEST_OBJECT ? { ...o, pages: guestPages } : o)),
    vmas: s5.vmas.map((v) => (v.name === GUEST ? { ...v, pages: guestPages } : v.name === BUSY ? { ...v, pages: Math.max(1, faulters) * perFaulter } : v)),
    folios: s5.folios.map((f) => (f.object === GUEST_OBJECT ? { ...f, count: guestPages } : f)),
    steps,
  };
}
