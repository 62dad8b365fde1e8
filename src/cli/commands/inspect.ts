import path from 'node:path';
import type { Command } from 'commander';
import { isCombinedFolder, readManifest } from '../../artifact/manifest.js';
import { readMultiTaskManifest } from '../../artifact/merged-manifest.js';
import { describeCheckpoint, type CheckpointDescription } from '../../checkpoint/describe.js';
import { resolveModelPath } from '../../checkpoint/hub.js';
import { loadCheckpoint } from '../../checkpoint/load.js';
import { printJson, printLine } from '../output.js';
import { renderTable } from '../../util/table.js';

function describeFolder(dir: string): CheckpointDescription {
  const ckpt = loadCheckpoint(dir);
  try {
    return describeCheckpoint(ckpt);
  } finally {
    ckpt.close();
  }
}

function checkpointRows(d: CheckpointDescription): [string, string | number][] {
  return [
    ['folder', d.dir],
    ['architecture', d.architecture],
    ['layers / hidden / heads / ffn', `${d.numLayers} / ${d.hiddenSize} / ${d.numHeads} / ${d.intermediateSize}`],
    ['parameters', d.parameters.toLocaleString('en-US')],
    ['weights', `${d.weightFiles.join(', ')} (${d.dtypes.join(', ')}, ${(d.weightBytes / 1e6).toFixed(1)} MB)`],
    ['labels', d.labels ? d.labels.map((l, i) => `${i}=${l}`).join(', ') : '(no classification head)'],
    ['tokenizer', `${d.tokenizer.source}, vocab ${d.tokenizer.vocabSize}`],
    ['max length', d.tokenizer.maxLength],
  ];
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show a model folder: architecture, sizes, parameters, labels, tokenizer (combined and multi-task folders too)')
    .argument('<model>', 'Hugging Face model folder, a combined or multi-task folder, or a hub id org/name (cache first)')
    .option('--json', 'print JSON')
    .action(async (model: string, opts: { json?: boolean }) => {
      const dir = await resolveModelPath(model);
      if (isCombinedFolder(dir)) {
        // A combined folder: its manifest says what the one graph holds.
        const m = readManifest(dir);
        if (opts.json) return printJson({ kind: 'combined', dir, manifest: m });
        printLine(
          renderTable(['field', 'value'], [
            ['folder', dir],
            ['kind', `combined model (${m.format} v${m.formatVersion}), one ${m.model.file}${m.model.quantize ? `, ${m.model.quantize}` : ''}${m.model.externalData ? `, weights in ${m.model.externalData}` : ''}`],
            ['method', m.method.name],
            ['labels', m.labels.map((l, i) => `${i}=${l}`).join(', ')],
            ['inputs', m.model.inputs.join(', ')],
            ['outputs', m.model.outputs.join(', ')],
            ['tokenizer groups', m.tokenizers.map((t) => `${t.group}: ${t.dir} (max length ${t.maxLength})`).join('; ')],
          ]),
        );
        printLine();
        printLine(renderTable(['member', 'architecture', 'layers / hidden', 'group', 'own labels', 'source'], m.members.map((x) => [x.name, x.architecture, `${x.numLayers} / ${x.hiddenSize}`, String(x.group), x.labels.join(', '), x.source])));
        return;
      }
      // The manifest reader that predict and serve use (bertfuse-merge.json beside task folders, no top-level config.json).
      const merged = readMultiTaskManifest(dir);
      if (merged) {
        const described = merged.tasks.map((t) => ({ task: t.task, ...describeFolder(path.join(dir, t.folder)) }));
        if (opts.json) return printJson({ kind: 'multi-task merge', dir, quantize: merged.quantize, tasks: described });
        printLine(`${dir}: multi-task merge, one shared encoder and ${merged.tasks.length} heads (${merged.quantize ? `${merged.quantize} ` : ''}model.onnx answers every task at once)`);
        for (const d of described) {
          printLine();
          printLine(`task ${d.task}:`);
          printLine(renderTable(['field', 'value'], checkpointRows(d)));
        }
        return;
      }
      const d = describeFolder(dir);
      if (opts.json) return printJson(d);
      printLine(renderTable(['field', 'value'], checkpointRows(d)));
    });
}
