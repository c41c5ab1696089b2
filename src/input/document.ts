// Reading a user's YAML or JSON file and checking it with a zod schema, so that every problem is
// reported as `<file>: <path> (line N): expected ..., found ...` (scenario and policy files).
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { ZodIssue, ZodTypeAny } from 'zod';
import { z } from 'zod';
import { InputFileError, type Problems, showValue, type ScenarioProblem } from './problems.js';

type MakeError = (file: string, problems: readonly ScenarioProblem[]) => InputFileError;

/**
 * Read an input file, or throw `makeError` naming it ("a readable <what> file", and the errno).
 * The format follows the extension: `.json` is JSON, anything else YAML.
 */
export function readInputFile(path: string, what: string, makeError: MakeError, shownAs = path): { text: string; format: 'yaml' | 'json' } {
  try {
    return { text: readFileSync(path, 'utf8'), format: /\.json$/i.test(path) ? 'json' : 'yaml' };
  } catch (e) {
    // Node's message already starts with the code ("ENOENT: no such file or directory, open ...").
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    const message = (e as Error).message;
    throw makeError(shownAs, [{ path: '', expected: `a readable ${what} file`, found: message.startsWith(code) ? message : `${code}: ${message}` }]);
  }
}

/**
 * Parse `text` (YAML or JSON) and hand the plain object to `validate`. Syntax errors, and the
 * problems `validate` throws, come back as one error of `makeError`'s class, each problem with
 * its line in the YAML source where it can be located.
 */
export function parseDocumentText<T>(text: string, file: string, format: 'yaml' | 'json', validate: (obj: unknown) => T, makeError: MakeError): T {
  if (format === 'json') {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw makeError(file, [{ path: '', expected: 'valid JSON', found: (e as Error).message }]);
    }
    return validate(obj);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw makeError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? (e.pos ? lc.linePos(e.pos[0]) : undefined);
        return {
          path: pos ? `line ${pos.line}, column ${pos.col}` : '',
          expected: 'valid YAML',
          found: `${e.code}: ${e.message.split('\n')[0]}`,
        };
      }),
    );
  }
  let obj: unknown;
  try {
    obj = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias bomb (or another structural problem the parser only sees while building values).
    throw makeError(file, [{ path: '', expected: 'a YAML document without excessive aliases', found: (e as Error).message }]);
  }
  try {
    return validate(obj);
  } catch (e) {
    if (e instanceof InputFileError)
      throw makeError(
        file,
        e.problems.map((p) => withLine(p, doc, lc)),
      );
    throw e;
  }
}

// ---- locating a problem in the YAML source ---------------------------------------------------

function withLine(p: ScenarioProblem, doc: Document, lc: LineCounter): ScenarioProblem {
  if (!p.segs) return p;
  let node: unknown = doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (const [i, seg] of p.segs.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && String(isScalar(it.key) ? it.key.value : it.key) === String(seg));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
      // The field named last is shown at its key (a map or list value starts on a later line).
      if (i < p.segs.length - 1) offset = rangeStart(node) ?? offset;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node === undefined) break;
      offset = rangeStart(node) ?? offset;
    } else break;
  }
  return offset === undefined ? p : { ...p, line: lc.linePos(offset).line };
}
function rangeStart(node: unknown): number | undefined {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? r[0] : undefined;
}

// ---- zod issues -> problems ------------------------------------------------------------------

function describeType(t: string): string {
  switch (t) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'integer':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'a map';
    default:
      return t;
  }
}

function valueAt(root: unknown, segs: readonly (string | number)[]): unknown {
  let v: unknown = root;
  for (const s of segs) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

/** Walk a zod schema along a path to list the fields an object there accepts. */
function knownFields(schema: ZodTypeAny, segs: readonly (string | number)[]): string[] {
  let s: ZodTypeAny | undefined = schema;
  const unwrap = (x: ZodTypeAny): ZodTypeAny => {
    for (;;) {
      const d = x._def as { innerType?: ZodTypeAny; schema?: ZodTypeAny };
      if (x instanceof z.ZodOptional || x instanceof z.ZodDefault || x instanceof z.ZodNullable) x = d.innerType!;
      else if (x instanceof z.ZodEffects) x = d.schema!;
      else return x;
    }
  };
  for (const seg of segs) {
    if (!s) return [];
    s = unwrap(s);
    if (s instanceof z.ZodArray) s = s.element as ZodTypeAny;
    else if (s instanceof z.ZodObject) s = (s.shape as Record<string, ZodTypeAny>)[String(seg)];
    else if (s instanceof z.ZodRecord) s = s.valueSchema as ZodTypeAny;
    else return [];
  }
  if (!s) return [];
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape as object) : [];
}

/** Translate zod issues for a value at `prefix` (validated with `schema`) into problems. */
function addZodIssues(pr: Problems, issues: readonly ZodIssue[], prefix: readonly (string | number)[], raw: unknown, schema: ZodTypeAny): void {
  for (const is of issues) {
    const segs = [...prefix, ...is.path];
    const found = valueAt(raw, is.path);
    switch (is.code) {
      case 'invalid_type': {
        const missing = is.received === 'undefined';
        pr.add(
          segs,
          `${describeType(is.expected)}${missing ? ' (required field)' : ''}`,
          missing
            ? 'nothing (the field is missing)'
            : is.received === 'float'
              ? `${String(found)} (not an integer)`
              : `${showValue(found)} (${describeType(is.received)})`,
        );
        break;
      }
      case 'unrecognized_keys':
        for (const k of is.keys) {
          const fields = knownFields(schema, is.path);
          pr.add([...segs, k], `one of the known fields${fields.length ? ` (${fields.join(', ')})` : ''}`, `unknown field '${k}'`);
        }
        break;
      case 'invalid_enum_value':
        pr.add(segs, `one of ${is.options.map(String).join(', ')}`, showValue(found));
        break;
      case 'too_small':
        if (is.type === 'array') pr.add(segs, `a list of at least ${is.minimum} item${Number(is.minimum) === 1 ? '' : 's'}`, showValue(found));
        else if (is.type === 'string') pr.add(segs, 'a non-empty string', showValue(found));
        else pr.add(segs, `a number ${is.inclusive ? '>=' : '>'} ${is.minimum}`, showValue(found));
        break;
      case 'too_big':
        if (is.type === 'array') pr.add(segs, `a list of at most ${is.maximum} items`, showValue(found));
        else pr.add(segs, `a number ${is.inclusive ? '<=' : '<'} ${is.maximum}`, showValue(found));
        break;
      case 'invalid_string':
        pr.add(segs, is.message.startsWith('Invalid') ? 'a valid string' : is.message, showValue(found));
        break;
      default:
        pr.add(segs, is.message, showValue(found));
    }
  }
}

export function parseWith<T>(pr: Problems, schema: z.ZodType<T, z.ZodTypeDef, unknown>, raw: unknown, prefix: readonly (string | number)[]): T | undefined {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  addZodIssues(pr, r.error.issues, prefix, raw, schema as unknown as ZodTypeAny);
  return undefined;
}
