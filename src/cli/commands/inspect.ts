import type { Command } from 'commander';
import { describeCheckpoint } from '../../checkpoint/describe.js';
import { resolveModelPath } from '../../checkpoint/hub.js';
import { loadCheckpoint } from '../../checkpoint/load.js';
import { printJson, printLine } from '../output.js';
import { renderTable } from '../../util/table.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show a model folder: architecture, sizes, parameters, labels, tokenizer')
    .argument('<model>', 'Hugging Face model folder, or a hub id org/name (cache first)')
    .option('--json', 'print JSON')
    .action(async (model: string, opts: { json?: boolean }) => {
      const ckpt = loadCheckpoint(await resolveModelPath(model));
      try {
        const d = describeCheckpoint(ckpt);
        if (opts.json) return printJson(d);
        const rows: [string, string | number][] = [
          ['folder', d.dir],
          ['architecture', d.architecture],
          ['layers / hidden / heads / ffn', `${d.numLayers} / ${d.hiddenSize} / ${d.numHeads} / ${d.intermediateSize}`],
          ['parameters', d.parameters.toLocaleString('en-US')],
          ['weights', `${d.weightFiles.join(', ')} (${d.dtypes.join(', ')}, ${(d.weightBytes / 1e6).toFixed(1)} MB)`],
          ['labels', d.labels ? d.labels.map((l, i) => `${i}=${l}`).join(', ') : '(no classification head)'],
          ['tokenizer', `${d.tokenizer.source}, vocab ${d.tokenizer.vocabSize}`],
          ['max length', d.tokenizer.maxLength],
        ];
        printLine(renderTable(['field', 'value'], rows));
      } finally {
        ckpt.close();
      }
    });
}
