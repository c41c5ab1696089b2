// The documentation holds together: every relative link in README.md and docs/ names a file that
// exists, and every "§N" / "§N.M" the code and docs cite is a section of docs/model.md.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
function files(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p, ext));
    else if (ext.test(e.name)) out.push(p);
  }
  return out;
}
const DOCS = [join(ROOT, 'README.md'), ...files(join(ROOT, 'docs'), /\.md$/)];

test('relative links resolve', () => {
  const broken: string[] = [];
  for (const f of DOCS) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
      if (!existsSync(join(dirname(f), target))) broken.push(`${f.slice(ROOT.length + 1)}: ${target}`);
    }
  }
  expect(broken).toEqual([]);
});

test('every § the code and docs cite is a section of docs/model.md', () => {
  const model = readFileSync(join(ROOT, 'docs', 'model.md'), 'utf8');
  const sections = new Set([...model.matchAll(/^#{2,4} (\d+(?:\.\d+)*)[.\s]/gm)].map((m) => m[1]!));
  const cited = new Set<string>();
  const sources = [...files(join(ROOT, 'src'), /\.ts$/), ...files(join(ROOT, 'bench'), /\.ts$/), ...files(join(ROOT, 'workers'), /\.ts$/), ...DOCS];
  for (const f of sources) {
    if (!statSync(f).isFile()) continue;
    for (const m of readFileSync(f, 'utf8').matchAll(/§ ?(\d+(?:\.\d+)*)/g)) cited.add(m[1]!);
  }
  const missing = [...cited].filter((c) => !sections.has(c)).sort();
  expect(missing).toEqual([]);
});

test('every YAML example in the docs loads: scenarios as the loader reads them, cost files as `--costs` does', async () => {
  const { parseScenarioText } = await import('../src/scenario/load.js');
  const { parseDocumentText } = await import('../src/input/document.js');
  const { validateCostFile } = await import('../src/cost/file.js');
  const { CostFileError } = await import('../src/input/problems.js');
  let scenarios = 0;
  let costs = 0;
  for (const f of DOCS) {
    for (const m of readFileSync(f, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)) {
      const text = m[1]!;
      const where = `${f.slice(ROOT.length + 1)} example`;
      if (/^steps:/m.test(text)) {
        expect(() => parseScenarioText(text, where), where).not.toThrow();
        scenarios++;
      } else if (/Ns:/.test(text)) {
        const fail = (file: string, ps: ConstructorParameters<typeof CostFileError>[1]) => new CostFileError(file, ps);
        expect(() => parseDocumentText(text, where, 'yaml', (o) => validateCostFile(o, where), fail), where).not.toThrow();
        costs++;
      }
    }
  }
  expect([scenarios, costs]).toEqual([1, 2]);
});
