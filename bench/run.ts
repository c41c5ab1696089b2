// npm run bench: timings, printed as ratios measured side by side in one run.
import { cpus } from 'node:os';
import { benchDrain } from './drain.js';

const us = (ns: number) => (ns / 1000).toFixed(1).padStart(8);
const args = process.argv.slice(2);
const only = args.find((a) => !a.startsWith('-'));
const rounds = Number(process.env.BENCH_ROUNDS ?? 300);

async function main(): Promise<void> {
  console.log(`folio-race bench — host: ${cpus().length} cores, Node ${process.version}`);
  if (!only || only === 'drain') {
    const counts = (process.env.BENCH_CPUS ?? '1,2,4,8,16').split(',').map(Number);
    console.log(`\nlru_add_drain_all() round trip from the coordinator, ${rounds} calls per cell (µs)`);
    console.log('  cpus  mode   emu p50  emu p99  floor p50 floor p99  ratio p50  ratio p99  cpus queued');
    await benchDrain(counts, rounds, (r) => {
      console.log(`  ${String(r.cpus).padStart(4)}  ${r.mode}  ${us(r.emuP50)} ${us(r.emuP99)} ${us(r.floorP50)}  ${us(r.floorP99)}   ${(r.emuP50 / r.floorP50).toFixed(2).padStart(6)}x   ${(r.emuP99 / r.floorP99).toFixed(2).padStart(6)}x   ${r.cpusQueued.toFixed(1)}`);
    });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
