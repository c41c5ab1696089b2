// Reading a user's cost file: YAML or JSON, any subset of the cost fields; the rest keep the
// defaults. Problems are reported as scenario and policy files report theirs:
// `<file>: <field> (line N): expected ..., found ...`.
import { parseDocumentText, parseWith, readInputFile } from '../input/document.js';
import { CostFileError, Problems, type ScenarioProblem, showValue } from '../input/problems.js';
import { type CostModel, CostModelSchema, DEFAULT_COSTS } from './model.js';

const PartialCosts = CostModelSchema.partial().strict();

/** Validate a parsed cost file object: the defaults with its fields in their place. */
export function validateCostFile(obj: unknown, file: string): CostModel {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new CostFileError(file, [{ path: '', expected: `a map of cost fields (${Object.keys(DEFAULT_COSTS).join(', ')})`, found: showValue(obj) }]);
  }
  const pr = new Problems();
  const over = parseWith(pr, PartialCosts, obj, []);
  if (!pr.empty || !over) throw new CostFileError(file, pr.list);
  return { ...DEFAULT_COSTS, name: file, ...over };
}

/** Load and validate a cost file (.yaml/.yml/.json). */
export function loadCostFile(path: string): CostModel {
  const err = (f: string, ps: readonly ScenarioProblem[]) => new CostFileError(f, ps);
  const { text, format } = readInputFile(path, 'cost', err);
  return parseDocumentText(text, path, format, (obj) => validateCostFile(obj, path), err);
}
