// `folio-race kernel <scenario...> --image <bzImage>`: the same scenarios on a real kernel. They
// are translated into a static C program (refused before anything is built when an op has no
// user-space equivalent), booted under QEMU as PID 1's workload, and the kernel's figures are
// printed beside the emulator's for the matching variant, disagreements first.
import { accessSync, constants, statSync } from 'node:fs';
import type { Command } from 'commander';
import type { Policy } from '../../mm/policy.js';
import { releaseAssumption, releaseFor, releasePolicy } from '../../policy/releases.js';
import {
  addPageRefLineUp,
  compareScenario,
  emulatorFigures,
  isTimedScenario,
  realFigures,
  renderComparisons,
  type ScenarioComparison,
} from '../../realkernel/compare.js';
import { buildGuestImage, defaultCacheDir } from '../../realkernel/guest_image.js';
import { emptyRun, parseGuestLine } from '../../realkernel/guest_output.js';
import { bzImageVersion, upstreamVersion } from '../../realkernel/kernel_version.js';
import { bootGuest } from '../../realkernel/qemu.js';
import { findGuestTools } from '../../realkernel/tools.js';
import { ioUringPinsFast, withPinPath } from '../../realkernel/io_uring_pin.js';
import { translateScenarios, UntranslatableError } from '../../realkernel/translate.js';
import type { Scenario } from '../../scenario/schema.js';
import { EXIT, UsageError } from '../errors.js';
import type { CliContext } from '../io.js';
import { interruptSignal } from '../signals.js';
import { loadRunOne, loadRunStress, loadScenario } from '../modules.js';
import { onePolicyFrom } from '../policy_flags.js';
import { intFlag, outputPathFlag, seedFlag, trialsFlag } from '../validate.js';
import { writeOutput } from '../output.js';

interface KernelFlags {
  image?: string;
  policy?: string;
  kernel?: string;
  trials?: string;
  seed?: string;
  json?: string;
  printC?: boolean;
  timeout?: string;
  memory?: string;
  qemu?: string;
  cache?: string;
  console?: string;
}

/** --image: a readable x86 bzImage; its version string. */
export function checkImageFlag(image: string): string {
  const st = statSync(image, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new UsageError(`--image: '${image}' is not a file`);
  try {
    accessSync(image, constants.R_OK);
  } catch {
    throw new UsageError(`--image: '${image}' is not readable (Debian installs /boot/vmlinuz-* readable by root only on some systems)`);
  }
  const v = bzImageVersion(image);
  if (v === null) throw new UsageError(`--image: '${image}' is not an x86 bzImage (no "HdrS" setup header)`);
  return v;
}

/** The variant to compare with: --policy, --kernel <version>, or the image's own version. */
function resolveVariant(f: KernelFlags, imageVersion: string | null): { policy: Policy; how: string } {
  if (f.policy !== undefined) {
    if (f.kernel !== undefined && f.kernel !== 'auto') throw new UsageError('--policy and --kernel: give one of them');
    return { policy: onePolicyFrom({ policy: f.policy }, 'kernel'), how: '--policy' };
  }
  const k = f.kernel ?? 'auto';
  if (k !== 'auto') return { policy: onePolicyFrom({ kernel: k }, 'kernel'), how: '--kernel' };
  const up = imageVersion ? upstreamVersion(imageVersion) : null;
  if (!up)
    throw new UsageError(
      `--kernel auto: cannot tell the kernel release of the image (${imageVersion === null ? 'no bzImage version string' : `version string '${imageVersion}'`}); give --kernel <version> or --policy`,
    );
  try {
    const assumed = releaseAssumption(up);
    return { policy: releasePolicy(releaseFor(up)), how: `the image's version ${up}${assumed ? `; note: ${assumed}` : ''}` };
  } catch (e) {
    throw new UsageError(`--kernel auto: the image is ${up}: ${(e as Error).message}; give --kernel <version> or --policy`);
  }
}

export function registerKernel(program: Command, ctx: CliContext): void {
  program
    .command('kernel')
    .description("run scenarios on a real kernel under QEMU and print its figures beside the emulator's")
    .argument('<scenarios...>', "built-in scenario ids or .yaml/.yml/.json files (all run in one boot); 'all': every built-in that translates")
    .option('--image <file>', 'the kernel to boot (bzImage / vmlinuz), e.g. /boot/vmlinuz-6.1.0-57-amd64 or arch/x86/boot/bzImage')
    .option('--kernel <version>', "the emulator variant to compare with: auto (default: the image's version, from the release table) or a release (6.12.45)")
    .option('--policy <p>', 'compare with this variant instead (a built-in id, base+switch=value, or a policy file)')
    .option('--trials <k>', 'trials per scenario, on each side (default 200)')
    .option('--seed <s>', 'seed of the emulator runs and of jitter in the guest (default 1)')
    .option('--json <file>', 'write both sides and the comparisons as JSON')
    .option('--print-c', 'print the generated C program and exit (nothing is built or booted)')
    .option('--timeout <s>', 'seconds the guest may run (default: 120 + 2 per trial and scenario)')
    .option('--memory <size>', 'guest memory (default 2G; ZONE_MOVABLE is 75% of it)')
    .option('--qemu <path>', 'qemu-system-x86_64 to use')
    .option('--cache <dir>', `where guest images are built and kept (default ${defaultCacheDir()})`)
    .option('--console <file>', 'write the whole guest console to this file')
    .addHelpText(
      'after',
      `
Ops that translate: fault, mlock, munlock, munmap, pin, unpin, readahead (fallocate on tmpfs),
lru_add_drain (madvise(MADV_COLD) of an untouched page), lru_cache_disable immediately followed
by lru_cache_enable (mbind(MPOL_MF_MOVE)), hog (SCHED_FIFO loop), delay, signal, wait, repeat.
Others are refused with the reason, before any build or boot.

Host packages (Debian): qemu-system-x86 busybox-static gcc libc6-dev cpio. The guest runs under
TCG (-accel tcg,thread=single): emulated time is not real time, so compare latencies only within
one boot. Example:
  folio-race kernel S1 --image /boot/vmlinuz-6.1.0-57-amd64
`,
    )
    .action(async (scenarioArgs: string[], f: KernelFlags) => {
      const trials = f.trials === undefined ? 200 : trialsFlag(f.trials);
      const seed = f.seed === undefined ? 1 : seedFlag(f.seed);
      const jsonPath = f.json === undefined ? undefined : outputPathFlag('--json', f.json);
      const consolePath = f.console === undefined ? undefined : outputPathFlag('--console', f.console);
      const memory = f.memory ?? '2G';
      if (!/^\d+[MG]$/.test(memory)) throw new UsageError(`--memory: expected a size such as 2G or 1536M, got '${memory}'`);
      const scenarios: Scenario[] = [];
      // `all`: every built-in scenario that can run on a real kernel; the others are listed, not refused.
      const all = scenarioArgs.some((a) => a.toLowerCase() === 'all');
      if (all && scenarioArgs.length > 1) throw new UsageError("<scenarios...>: 'all' stands alone (it means every built-in scenario that translates)");
      if (all) {
        const { loadAllBuiltins } = await import('../../scenario/load.js');
        for (const s of loadAllBuiltins()) {
          try {
            translateScenarios([s]);
            scenarios.push(s);
          } catch (e) {
            if (!(e instanceof UntranslatableError)) throw e;
            ctx.err.write(
              `folio-race kernel: skipping ${s.id}: ${e.problems[0]!.message}${e.problems.length > 1 ? ` (and ${e.problems.length - 1} more)` : ''}\n`,
            );
          }
        }
      } else for (const a of scenarioArgs) scenarios.push(await loadScenario(a));
      const ids = new Set<string>();
      for (const s of scenarios) {
        if (ids.has(s.id)) throw new UsageError(`scenario '${s.id}' is given twice`);
        ids.add(s.id);
      }
      const tr = translateScenarios(scenarios); // refuses untranslatable ops: exit 2 before any build
      if (f.printC) {
        ctx.out.write(tr.c);
        return;
      }
      if (f.image === undefined) throw new UsageError('--image: the kernel to boot is required (or --print-c to see the program)');
      const imageVersion = checkImageFlag(f.image);
      const { policy, how } = resolveVariant(f, imageVersion);
      const timeoutS = f.timeout === undefined ? 120 + 2 * trials * scenarios.length : intFlag('--timeout', f.timeout, 10, 86400);
      const tools = findGuestTools(f.qemu === undefined ? {} : { qemu: f.qemu });

      ctx.err.write(
        `folio-race kernel: ${scenarios.map((s) => s.id).join(', ')} x ${trials} trials on ${f.image} (${imageVersion.split(' ')[0]}), emulator variant ${policy.id} (from ${how})\n`,
      );
      const image = buildGuestImage(tr.c, tools, f.cache ?? defaultCacheDir());
      ctx.err.write(
        `folio-race kernel: guest image ${image.initramfs}${image.cached ? ' (cached)' : ''}; booting QEMU (TCG, ${tr.guestCpus} CPUs, ${memory})\n`,
      );

      const run = emptyRun();
      let parseError: string | null = null;
      let lastLine = Date.now();
      const boot = await bootGuest({
        qemu: tools.qemu,
        image: f.image,
        initramfs: image.initramfs,
        cpus: tr.guestCpus,
        memory,
        append: [`fr.trials=${trials}`, `fr.seed=${seed}`],
        timeoutMs: timeoutS * 1000,
        signal: interruptSignal,
        onLine: (line) => {
          try {
            const t = parseGuestLine(run, line);
            if (!t) return;
            const at = `${run.scenarios[run.scenarios.length - 1]!.id}: ${t.trial + 1}/${trials} trials (scenario ${run.scenarios.length} of ${scenarios.length})`;
            // A live count on a terminal; elsewhere (CI, logs) a line at most every 10 s.
            if (ctx.err.isTTY) {
              if ((t.trial + 1) % 20 === 0) ctx.err.write(`\r  ${at}`);
            } else if (Date.now() - lastLine >= 10_000) {
              lastLine = Date.now();
              ctx.err.write(`folio-race kernel: ${at}\n`);
            }
          } catch (e) {
            parseError ??= (e as Error).message;
          }
        },
      });
      if (ctx.err.isTTY) ctx.err.write('\r\x1b[K');
      if (consolePath) writeOutput(ctx, '--console', consolePath, boot.console.join('\n') + '\n');
      // The firmware's screen-control sequences are noise in a terminal.
      const clean = (l: string) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
      const tail = () =>
        boot.console
          .map(clean)
          .filter((l) => l.trim())
          .slice(-25)
          .map((l) => `  | ${l}`)
          .join('\n');
      const why = boot.panic
        ? `the guest kernel panicked (${boot.panic})`
        : boot.timedOut
          ? `the guest did not finish within ${timeoutS} s (--timeout)`
          : boot.aborted
            ? 'interrupted'
            : run.fatal
              ? `the test program failed in the guest: ${run.fatal}`
              : parseError
                ? parseError
                : !run.begin
                  ? 'the guest never started the test program (the kernel did not reach /init: does it have an initramfs, a serial console on ttyS0, CONFIG_IO_URING?)'
                  : !run.ended
                    ? 'the test program stopped before the end'
                    : null;
      const done = run.scenarios.filter((s) => s.trials.length > 0);
      if (why !== null) ctx.err.write(`folio-race kernel: ${why}; console tail:\n${tail()}\n`);
      if (done.length === 0) {
        // Nothing to compare: the guest never got through a trial (exit 3, or 130 on Ctrl-C).
        ctx.exitCode = boot.aborted ? EXIT.INTERRUPTED : EXIT.INTERNAL;
        return;
      }
      const guestUp = run.begin ? (upstreamVersion(run.begin.version) ?? upstreamVersion(run.begin.release)) : null;
      ctx.err.write(
        `folio-race kernel: guest ran ${done.length} scenario(s) in ${(boot.wallMs / 1000).toFixed(1)} s (${run.begin?.release ?? '?'}${guestUp ? `, ${guestUp}` : ''}); emulator runs ${policy.id}\n`,
      );
      if (run.begin && run.begin.trace === 0) ctx.err.write('folio-race kernel: no tracefs in the guest: drain works are not counted\n');
      if (run.begin?.pageRef === 1)
        ctx.err.write(
          "folio-race kernel: the kernel has page_ref tracepoints (CONFIG_DEBUG_PAGE_REF): each scenario's first trial is lined up with an emulated one\n",
        );

      const runStress = await loadRunStress('deterministic');
      const rows: ScenarioComparison[] = [];
      // The guest pinned through io_uring: the emulator pins the way this kernel's io_uring does.
      const version = guestUp ?? upstreamVersion(imageVersion);
      const fast = version === null ? null : ioUringPinsFast(version);
      const runNotes: string[] = [];
      if (fast !== null && scenarios.some((s) => withPinPath(s, fast) !== s)) {
        runNotes.push(
          `the emulator runs every pin as ${fast ? 'pin_user_pages_fast()' : 'pin_user_pages()'}, as io_uring buffer registration does on ${version}`,
        );
      }
      if (fast === null && version !== null)
        runNotes.push(`which GUP entry io_uring uses on ${version} is not known here: the emulator pins as each scenario says`);
      for (const g of done) {
        const s0 = scenarios.find((x) => x.id === g.id)!;
        const s = fast === null ? s0 : withPinPath(s0, fast);
        const out = await runStress({ scenario: s, policy, cpus: s.cpus, trials: g.trials.length, seed, signal: interruptSignal });
        const row = compareScenario(s.id, realFigures(g, run.begin?.trace === 1), emulatorFigures(out.aggregate, s), isTimedScenario(s));
        if (g.pageRef.length > 0) {
          // The kernel traced page_ref events: line up the first trial with one emulated trial.
          const lines: string[] = [];
          const runOne = await loadRunOne();
          await runOne({ scenario: s, policy, cpus: s.cpus, seed, trace: true, out: (l) => lines.push(l) });
          addPageRefLineUp(row, g.pageRef, lines, isTimedScenario(s));
        }
        rows.push(row);
      }
      const realLabel = `real ${guestUp ?? run.begin?.release ?? 'kernel'}`;
      ctx.out.write(renderComparisons(rows, realLabel, `emulator ${policy.id}`));
      const notes = [...tr.notes, ...run.notes, ...runNotes];
      if (notes.length > 0) ctx.out.write(`\nHow the guest differs from the scenario:\n${notes.map((n) => `  - ${n}`).join('\n')}\n`);
      if (jsonPath !== undefined) {
        const at = writeOutput(
          ctx,
          '--json',
          jsonPath,
          JSON.stringify(
            {
              image: f.image,
              imageVersion,
              guest: run.begin,
              policy: policy.id,
              policyFrom: how,
              trials,
              seed,
              bootSeconds: boot.wallMs / 1000,
              qemu: boot.argv,
              complete: why === null,
              notes,
              scenarios: rows,
            },
            null,
            2,
          ) + '\n',
        );
        if (at === jsonPath) ctx.err.write(`folio-race: wrote ${jsonPath}\n`);
      }
      const disagreements = rows.reduce((n, r) => n + r.comparisons.filter((c) => c.verdict === 'DISAGREE').length, 0);
      if (ctx.exitCode !== EXIT.OUTPUT)
        ctx.exitCode = why !== null ? (boot.aborted ? EXIT.INTERRUPTED : EXIT.INTERNAL) : disagreements > 0 ? EXIT.FAIL_ON : EXIT.OK;
    });
}
