// npm run bench: timings, printed as ratios measured side by side in one run.
import { cpus } from 'node:os';
import { benchAb, benchAbExplore } from './ab.js';
import { benchDrain } from './drain.js';
import { benchS1 } from './s1.js';
import { benchSched } from './sched.js';
import { benchLogical } from './logical.js';
import { shutdownAll } from '../src/runtime/registry.js';

const us = (ns: number) => (ns / 1000).toFixed(1).padStart(8);
/** The split's legs are fractions of a µs. */
const us2 = (ns: number) => (ns / 1000).toFixed(2).padStart(7);
const args = process.argv.slice(2);
const only = args.find((a) => !a.startsWith('-'));
const rounds = Number(process.env.BENCH_ROUNDS ?? 300);

async function main(): Promise<void> {
  console.log(`folio-race bench — host: ${cpus().length} cores, Node ${process.version}`);
  if (only === 'ab') {
    // Not part of the full run: it needs another build to compare with.
    const root = args.filter((a) => !a.startsWith('-'))[1];
    if (!root) throw new Error('bench ab: name the other checkout: npm run bench -- ab <root> (built with npm run build)');
    const slices = Number(process.env.BENCH_AB_SLICES ?? 20);
    const per = Number(process.env.BENCH_AB_SCHEDULES ?? 400);
    console.log(`\nDeterministic engine, this build against ${root}, in one process (${slices} alternating slices of ${per} schedules each, 8 CPUs)`);
    console.log('  scenario policy   strategy   other µs/decision   this µs/decision   this/other: median (quartiles)');
    for (const r of await benchAb(root, slices, per))
      console.log(
        `  ${r.scenario.padEnd(8)} ${r.policy.padEnd(8)} ${r.strategy.padEnd(8)}   ${r.otherUs.toFixed(2).padStart(17)}   ${r.thisUs.toFixed(2).padStart(16)}   ${r.ratio.p50.toFixed(3)} (${r.ratio.p25.toFixed(2)}-${r.ratio.p75.toFixed(2)})`,
      );
    const xSlices = Number(process.env.BENCH_AB_EXPLORE_SLICES ?? 10);
    const xMs = Number(process.env.BENCH_AB_EXPLORE_MS ?? 2000);
    console.log(
      `\nexplore, this build against ${root} (${xSlices} alternating slices, each the search from its start for ${xMs} ms; scripted CPUs renumbered)`,
    );
    console.log('  scenario policy   cpus bound reduction    other µs/decision   this µs/decision   this/other: median (quartiles)');
    for (const r of await benchAbExplore(root, xSlices, xMs))
      console.log(
        `  ${r.scenario.padEnd(8)} ${r.policy.padEnd(8)} ${String(r.cpus).padStart(4)} ${String(r.bound).padStart(5)} ${r.reduction.padEnd(10)}   ${r.otherUs.toFixed(2).padStart(17)}   ${r.thisUs.toFixed(2).padStart(16)}   ${r.ratio.p50.toFixed(3)} (${r.ratio.p25.toFixed(2)}-${r.ratio.p75.toFixed(2)})`,
      );
    return;
  }
  if (!only || only === 'drain') {
    const counts = (process.env.BENCH_CPUS ?? '1,2,4,8,16').split(',').map(Number);
    console.log(
      `\nlru_add_drain_all() round trip from the coordinator, ${rounds} calls per cell, 10x that where every thread has a core (µs), in 10 slices each timing the emulator, then the floor`,
    );
    console.log(
      "  split by time stamps: caller = lru_add_drain_all() before its first queue_work_on() and after its last flush_work(); there = that queue_work_on() to the first CPU's drain work starting;",
    );
    console.log(
      '  drain work = the longest lru_add_drain_per_cpu() of the drain (DRAIN_WORK_NS); back = the last drain work ending to the flush returning; floor there/back: the same two legs of a bare doorbell;',
    );
    console.log(
      "  slice ratios = each slice's median (round trip, or signalling = there + back) over the same slice's floor round trip: median (quartiles) of the 10;",
    );
    console.log(
      '  untimed = busy drains that found nothing queued (the CPU had not put a folio back since the previous drain, about a cycle before), not in the figures;',
    );
    console.log(
      '  busy: each drain and each floor round comes a random 0-2 µs after the one before (untimed), so it meets the CPU at a random moment of its work; where every thread has a core:',
    );
    console.log(
      '  gap = the mean time a busy CPU runs between two scheduling points (where it looks for queued work); floor at gap = the same doorbell with each floor thread working that long between looks',
    );
    console.log(
      '  cpus  mode   emu p50  emu p99  floor p50 floor p99  queued  caller   there  drain work   back   floor there  back   round trip/floor    signalling/floor    untimed      gap  floor at gap  signalling/floor at gap',
    );
    const q = (x: { p25: number; p50: number; p75: number }) => `${x.p50.toFixed(2)}x (${x.p25.toFixed(2)}-${x.p75.toFixed(2)})`.padEnd(19);
    await benchDrain(counts, rounds, (r) => {
      console.log(
        `  ${String(r.cpus).padStart(4)}  ${r.mode}  ${us(r.emuP50)} ${us(r.emuP99)} ${us(r.floorP50)}  ${us(r.floorP99)}  ${r.cpusQueued.toFixed(1).padStart(5)} ${us2(r.callerP50)} ${us2(r.thereP50)}   ${us2(r.workP50)}   ${us2(r.backP50)}      ${us2(r.floorThereP50)} ${us2(r.floorBackP50)}   ${q(r.ratio)} ${q(r.signalRatio)} ${String(r.emptyDrains).padStart(7)}${r.mode === 'busy' && Number.isFinite(r.pointGapNs) ? `  ${(r.pointGapNs / 1000).toFixed(2).padStart(7)}  ${us(r.gapFloorP50).padStart(12)}  ${q(r.gapSignalRatio)}` : ''}`,
      );
    });
  }
  if (!only || only === 's1') {
    const trials = Number(process.env.BENCH_TRIALS ?? 5000);
    const r = await benchS1(4, trials);
    console.log(`\nS1 (its two scripted CPUs renumbered 0 and 1) on ${r.cpus} CPUs under v6.11, ${trials} trials`);
    console.log(
      `  free-run (worker threads):  ${r.freeRunTrialsPerSec.toFixed(0).padStart(7)} trials/s   (thread start-up and first trial ${r.startMs.toFixed(0)} ms, not counted)`,
    );
    console.log(`  deterministic (one thread): ${r.coopTrialsPerSec.toFixed(0).padStart(7)} trials/s`);
    console.log(`  first failure (-ENOMEM):    trial ${r.firstFailureTrial}, ${r.firstFailureMs.toFixed(2)} ms after the run started (threads already up)`);
    console.log(`  S1's faulting CPU holds still until the pin returned (a state race): every v6.11 trial fails,`);
    console.log(`  and a trial costs a full failed migration (10 refcount checks, two unmap/remap cycles).`);
  }
  if (!only || only === 'sched') {
    const r = await benchSched(Number(process.env.BENCH_SCHEDULES ?? 10000));
    console.log('\nDeterministic mode (one thread, one trial per schedule; 8 CPUs; steady state after 1000 warm-up schedules, median of 5 slices)');
    console.log('  scenario policy   strategy  schedules/s  decisions  µs/decision   per schedule (µs): reset  decisions  checks');
    for (const x of r.rates)
      console.log(
        `  ${x.scenario.padEnd(8)} ${x.policy.padEnd(8)} ${x.strategy.padEnd(8)} ${x.schedulesPerSec.toFixed(0).padStart(11)}  ${x.decisionsPerSchedule.toFixed(1).padStart(9)}  ${x.usPerDecision.toFixed(2).padStart(11)}   ${' '.repeat(18)}${x.phasesUs.reset.toFixed(1).padStart(5)}  ${x.phasesUs.schedule.toFixed(1).padStart(9)}  ${x.phasesUs.check.toFixed(1).padStart(6)}`,
      );
    for (const h of r.hunts)
      console.log(
        `  hunt S6 ${h.policy.padEnd(8)} ${h.strategy.padEnd(7)} first failure after ${h.schedules.toFixed(1)} schedules, ${h.ms.toFixed(1)} ms (mean of 20 hunts)`,
      );
    for (const e of r.exhaustive)
      console.log(
        `  explore S1 (3 CPUs, preemption bound 2${e.timeless ? ', timeless' : ''}) ${e.policy.padEnd(8)} ${String(e.interleavings).padStart(5)} interleavings in ${e.ms.toFixed(0)} ms, ${e.complete ? 'complete' : 'INCOMPLETE'}, ${e.failures} failure signature(s)`,
      );
    console.log('\n  explore with and without partial-order reduction (sleep sets), scripted CPUs renumbered');
    console.log('  scenario policy   cpus bound   without: interleavings    ms   with: interleavings (+abandoned)    ms   signatures  same');
    for (const x of r.reduction)
      console.log(
        `  ${x.scenario.padEnd(8)} ${x.policy.padEnd(8)} ${String(x.cpus).padStart(4)} ${String(x.bound).padStart(5)}   ${String(x.none.interleavings).padStart(22)}${x.none.complete ? ' ' : '*'} ${x.none.ms.toFixed(0).padStart(5)}   ${`${x.sleep.interleavings} (+${x.sleep.pruned})`.padStart(31)}${x.sleep.complete ? ' ' : '*'} ${x.sleep.ms.toFixed(0).padStart(5)}   ${String(x.signatures).padStart(10)}  ${x.sameSignatures ? 'yes' : 'NO'}`,
      );
    console.log('  (* = stopped by the time limit)');
    console.log(`  lockstep hand-off between two threads (the alternative design): ${r.handoffUs.toFixed(1)} µs median round trip per decision`);
    const ph = r.parallelHunt;
    console.log(
      `  hunt S1 will-v1 pct, ${ph.schedules} schedules without a failure: 1 thread ${ph.seqPerSec.toFixed(0)} schedules/s, hunt --jobs ${ph.threads} ${ph.parPerSec.toFixed(0)} schedules/s (${(ph.parPerSec / ph.seqPerSec).toFixed(2)}x); first S6 merged failure from seed 40 the same on both: ${ph.sameFirst ? 'yes' : 'NO'}`,
    );
    const px = r.parallelExplore;
    console.log(
      `  explore S9 merged bound 3 (3 CPUs, sleep sets): 1 thread ${px.seqMs.toFixed(0)} ms, explore --jobs ${px.threads} ${px.parMs.toFixed(0)} ms (${(px.seqMs / px.parMs).toFixed(2)}x, ${px.subtrees} subtrees, ${px.interleavings} interleavings${px.complete ? '' : ', incomplete: the same counts are not expected'}); the same counts, failures and representatives: ${px.same ? 'yes' : 'NO'}`,
    );
  }
  if (!only || only === 'logical') {
    const r = await benchLogical();
    console.log(
      `\nLogical-time model fed this host's emulator costs, against the free-run emulator (drain-latency, workqueue, hog off, 3 trials x 1000 rounds after 2,000 warm-up drains in the same threads)`,
    );
    const c = r.costs;
    const k = r.calibration;
    console.log(
      `  host costs: batch add ${c.batchAddNs.toFixed(0)} ns, per-entry move ${c.lruMoveNs.toFixed(0)} ns, scan ${c.drainScanNs.toFixed(0)} ns/CPU, queue_work ${c.queueWorkNs.toFixed(0)} ns, wake sleeping thread ${(c.kworkerWakeIdleNs / 1000).toFixed(1)} µs, signal a spinning thread ${(c.ipiNs / 1000).toFixed(2)} µs`,
    );
    console.log(
      `  per scheduling point of the free-run driver: ${c.stepNs.toFixed(0)} ns (a 1-CPU drain driven by FreeRunCpu in one thread ${(k.driveNs / 1000).toFixed(2)} µs, priced without it ${(k.kernelNs / 1000).toFixed(2)} µs, ${k.stepsPerDrain.toFixed(0)} steps)`,
    );
    console.log('  load  cpus   free-run p50 (drains)   logical p50   shape free-run   shape logical   shapes agree (within 1.5x)');
    for (const load of ['idle', 'busy'] as const) {
      const rows = r.shape.filter((x) => x.load === load);
      const one = rows.find((x) => x.cpus === 1);
      for (const x of rows) {
        const sf = one ? x.freeRunP50 / one.freeRunP50 : Number.NaN;
        const sl = one ? x.logicalP50 / one.logicalP50 : Number.NaN;
        const agree = !x.fits ? `not compared: ${x.cpus} threads on ${cpus().length} cores` : Math.abs(Math.log(sf / sl)) <= Math.log(1.5) ? 'yes' : 'NO';
        console.log(
          `  ${load.padEnd(4)}  ${String(x.cpus).padStart(4)}   ${us(x.freeRunP50)} µs (${String(x.freeRunDrains).padStart(5)})  ${us(x.logicalP50)} µs   ${sf.toFixed(2).padStart(13)}x   ${sl.toFixed(2).padStart(12)}x   ${agree}`,
        );
      }
    }
    console.log(
      `  (shape = p50 relative to 1 CPU. The logical model gives every CPU a core of its own; free-run cells with more threads than this host's ${cpus().length} cores measure the host's time slicing, so they are printed, not compared: on a host with 9+ cores every cell of 1-8 CPUs is compared)`,
    );
    console.log(
      '\nLogical-time model, default (server) costs: `study drain-latency --model logical --cpus N` (8 cells: 4 mechanisms x hog off/on, 10 trials x 20 rounds)',
    );
    for (const x of r.scale)
      console.log(`  ${String(x.cpus).padStart(4)} CPUs: ${x.seconds.toFixed(1).padStart(5)} s on this host; workqueue p50 ${us(x.p50)} µs (logical)`);
    const p = r.parallelScale;
    console.log(
      `  the ${p.cells} cells on ${p.threads} threads (study --jobs auto): ${p.seconds.toFixed(1)} s against ${p.sequentialSeconds.toFixed(1)} s on one (${(p.sequentialSeconds / p.seconds).toFixed(2)}x); every cell the same: ${p.same ? 'yes' : 'NO'}`,
    );
  }
}

// The study runs keep their CPU threads for the next cell (coordinator/shared.ts): stop them, or
// the process never exits.
main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => shutdownAll());
