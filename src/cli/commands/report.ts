// `folio-race report a.json [b.json ...] -o report.html`: a self-contained HTML report (inline
// SVG plots drawn by Observable Plot, no scripts, no network) of study documents, and
// `<report>.figures.json` with every figure's data.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliContext } from '../io.js';
import { writeOutput } from '../output.js';
import { outputPathFlag } from '../validate.js';

export function registerReport(program: Command, ctx: CliContext): void {
  program
    .command('report')
    .description('write an HTML report with plots (and a JSON of every figure) from study documents')
    .argument('<files...>', 'study documents (`study drain-latency|pin-storm|race-window --json`)')
    .option('-o, --output <file>', 'HTML file to write', 'folio-race-report.html')
    .action(async (files: string[], f: { output: string }) => {
      const out = outputPathFlag('--output', f.output);
      const figOut = outputPathFlag('--output', out.replace(/\.html?$/i, '') + '.figures.json');
      const doc = await import('../../study/doc.js');
      const html = await import('../../report/html.js');
      let docs: ReturnType<typeof doc.readStudyDoc>[];
      try {
        docs = files.map((p) => doc.readStudyDoc(p));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const figures = html.buildFigures(docs);
      const a = writeOutput(ctx, '--output', out, html.renderHtml(docs, figures));
      const b = writeOutput(ctx, '--output', figOut, JSON.stringify({ figures }, null, 2) + '\n');
      const wrote = [a ? `${a} (${figures.length} figures)` : '', b].filter((x) => x !== '');
      if (wrote.length > 0) ctx.err.write(`folio-race: wrote ${wrote.join(' and ')}\n`);
    });
}
