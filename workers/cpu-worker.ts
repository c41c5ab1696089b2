// Worker thread entry for one emulated CPU: wires src/cpu/worker_main.ts to worker_threads,
// with comlink as the control plane (configure, run a batch of trials).
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { CpuWorker, type WorkerInit } from '../src/cpu/worker_main.js';

if (!parentPort) throw new Error('cpu-worker must run as a worker thread');
Comlink.expose(new CpuWorker(workerData as WorkerInit), nodeEndpoint(parentPort));
