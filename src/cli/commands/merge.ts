// `folio-race merge a.json b.json ... -o out.json`: combine shard documents of one study sweep
// exactly (cells unioned; a cell in several shards has its counts added and histograms merged).
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliContext } from '../io.js';
import { writeOutput } from '../output.js';
import { outputPathFlag } from '../validate.js';

export function registerMerge(program: Command, ctx: CliContext): void {
  program
    .command('merge')
    .description('merge study documents written by `study ... --shard i/N --json` (histograms merged, not averaged)')
    .argument('<files...>', 'study documents')
    .requiredOption('-o, --output <file>', 'where to write the merged document')
    .action(async (files: string[], f: { output: string }) => {
      const out = outputPathFlag('--output', f.output);
      const doc = await import('../../study/doc.js');
      let merged: ReturnType<typeof doc.mergeStudyDocs>;
      try {
        merged = doc.mergeStudyDocs(files.map((p) => doc.readStudyDoc(p)));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      writeOutput(ctx, '--output', out, JSON.stringify(merged, null, 2) + '\n');
      ctx.err.write(`folio-race: merged ${files.length} document(s), ${merged.cells.length} of ${merged.totalCells} cells, into ${f.output}\n`);
    });
}
