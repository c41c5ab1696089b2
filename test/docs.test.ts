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
