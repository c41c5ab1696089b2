// Build a Job from its serialisable spec, in whichever thread needs it.
import { DEFAULT_PROGRAM, DrainProgram, type ProgramParams } from './programs.js';
import { BenchProgram } from './bench_program.js';
import { DEFAULT_DRAIN_STUDY, DrainStudyJob } from './drain_study_job.js';
import { ScenarioJob } from './scenario_job.js';
import type { Job, JobEnv, JobSpec } from './job.js';

export const PROGRAMS = ['drain', 'bench', 'drain-latency'] as const;

export function buildJob(spec: JobSpec, env: JobEnv): Job {
  if (spec.kind === 'program') {
    if (spec.name === 'drain-latency') return new DrainStudyJob({ ...DEFAULT_DRAIN_STUDY, ...spec.params }, env.seed ?? 0);
    if (spec.name === 'bench') return new BenchProgram({ busy: 1, pool: 64, ...spec.params });
    if (spec.name !== 'drain') throw new Error(`program: expected one of ${PROGRAMS.join(', ')}, got '${spec.name}'`);
    const p: ProgramParams = { ...DEFAULT_PROGRAM, ...spec.params };
    return new DrainProgram(p, env);
  }
  return new ScenarioJob(spec.scenario, spec.board, env);
}
