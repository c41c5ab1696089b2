// A validated scenario written back in the file format (`- fault: { vma: guest, page: 0 }`), so
// that a scenario carried inside another document (a replay file's definition) goes through the
// same checks as a scenario file when it is read back.
import type { Op, Scenario } from './schema.js';

function opSource(op: Op): unknown {
  const { op: name, path: _path, ...args } = op as Op & Record<string, unknown>;
  if (op.op === 'repeat') return { repeat: { ...args, ops: op.ops.map(opSource) } };
  return { [name]: args };
}

/** The scenario as a scenario file would say it (every default spelled out). */
export function scenarioSource(s: Scenario): Record<string, unknown> {
  const { file: _file, steps, ...rest } = s;
  return { ...rest, steps: Object.fromEntries(Object.entries(steps).map(([cpu, ops]) => [cpu, ops.map(opSource)])) };
}
