// The reference check of the scripts (load.ts): what it knows about the scenario while it reads
// the ops, and the helpers the op rows' `check` use (ops/*.ts). Problems read
// `<path>: expected <what>, found <value>`, as everywhere in the loader.
import { type Problems, showValue } from '../input/problems.js';
import type { Op } from './ops/index.js';
import type { ObjectSpec, VmaSpec } from './schema.js';

export type Path = (string | number)[];

/** What the reference check knows about a VMA (declared, or created by a `fork ... as`). */
export interface VmaInfo {
  spec: VmaSpec;
  /** Path where it was declared. */
  where: string;
}

/** A list of names for a message: `none`, or the first 12. */
export const list = (names: Iterable<string>): string => {
  const a = [...names];
  return a.length === 0 ? 'none' : a.length > 12 ? `${a.slice(0, 12).join(', ')}, ...` : a.join(', ');
};

/** The scenario as the script check sees it, and what the scripts have said so far. */
export interface ScriptCheck {
  pr: Problems;
  cpus: number | undefined;
  vmaByName: Map<string, VmaInfo>;
  vmaNames: Set<string>;
  objByName: Map<string, ObjectSpec>;
  objNames: Set<string>;
  folioNames: Set<string>;
  signalsRaised: Set<string>;
  waits: { name: string; at: Path }[];
  forks: { parent: string; child: string; at: Path }[];
}

/** Parse and check a nested list of ops (load.ts parseOps), for `repeat`. */
export type ParseOps = (ops: unknown[], at: Path, sc: ScriptCheck, reach: number) => Op[];

/**
 * The VMA exists and `pages` pages from `page` lie inside it, also in the last repetition of
 * the enclosing repeats (`reach`); without a page, only the name is checked.
 */
export function checkVmaPage(sc: ScriptCheck, at: Path, vma: string, page: number | undefined, pages: number, reach: number): boolean {
  const vi = sc.vmaByName.get(vma);
  if (!vi) {
    const all = new Set([...sc.vmaNames, ...sc.forks.map((f) => f.child)]);
    if (!all.has(vma)) sc.pr.add([...at, 'vma'], `the name of a VMA (${list(all)})`, showValue(vma));
    return false;
  }
  if (page === undefined) return true;
  const n = vi.spec.pages;
  const last = page + reach + pages - 1;
  if (last >= n) {
    const what = pages > 1 ? `pages ${page}..${page + pages - 1}` : `page ${page}`;
    sc.pr.add(
      [...at, 'page'],
      `a page from 0 to ${n - 1} (VMA '${vma}' has ${n} page${n === 1 ? '' : 's'})`,
      reach > 0 ? `${page} (${what} moved by repeat strides to end at page ${last})` : pages > 1 ? `${page} (${what})` : String(page),
    );
    return false;
  }
  return true;
}

/** What an op row's `check` is given: the op's place, the script check, and helpers on both. */
export class OpCheck {
  constructor(
    readonly sc: ScriptCheck,
    /** The path of the op's arguments (`steps.3[1].fault`). */
    readonly at: Path,
    /** How far the enclosing repeats move pages and indices: the last repetition's page is page + reach. */
    readonly reach: number,
    private readonly parseOps: ParseOps,
  ) {}

  /** Report a problem in the op's arguments (at `field`, or at the op itself); undefined, so `return c.problem(...)`. */
  problem(field: string | undefined, expected: string, found: string): undefined {
    this.sc.pr.add(field === undefined ? this.at : [...this.at, field], expected, found);
    return undefined;
  }

  /** The VMA is known (declared or forked); with a page, `pages` pages from it fit, in every repetition. */
  vmaPage(vma: string, page?: number, pages = 1): boolean {
    return checkVmaPage(this.sc, this.at, vma, page, pages, this.reach);
  }

  /** A known VMA's spec (declared, or a fork child's). */
  vma(name: string): VmaSpec | undefined {
    return this.sc.vmaByName.get(name)?.spec;
  }

  /** The CPU number is one the scenario has. */
  cpu(cpu: number): boolean {
    const n = this.sc.cpus;
    if (n !== undefined && cpu >= n) {
      this.problem('cpu', `a CPU number from 0 to ${n - 1} (the scenario declares cpus: ${n})`, `CPU ${cpu}`);
      return false;
    }
    return true;
  }

  /** The nested ops of a repeat, checked with pages moved by `reach` more. */
  nested(ops: unknown[], reach: number): Op[] {
    return this.parseOps(ops, [...this.at, 'ops'], this.sc, this.reach + reach);
  }
}
