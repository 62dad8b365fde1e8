import type { Command } from 'commander';
import { loadMultiTask, type MultiTaskClassifier } from '../../artifact/merged-model.js';
import type { TextInput } from '../../checkpoint/tokenizer.js';
import { readTextInputs } from '../../data/texts.js';
import { BertfuseError } from '../../errors.js';
import { loadClassifier, type LoadOptions } from '../../runtime/classifier.js';
import { predict } from '../../runtime/predict.js';
import { positiveInt, printLine, SKIPPED, skippedLegend } from '../output.js';
import { labelScores, memberScores, type LabelScores } from '../../runtime/label-scores.js';
import type { QuantizeMode } from '../../graph/quantize.js';
import type { RunOptions } from '../../runtime/runner.js';
import { addQuantizeFlag, addTaskFlag } from '../graph-flags.js';
import { statusLine } from '../progress.js';
import { renderTable } from '../../util/table.js';

interface PredictFlags {
  text?: string[];
  textPair?: string;
  input?: string;
  encoding?: string;
  json?: boolean;
  batchSize: number;
  threads?: number;
  quantize?: QuantizeMode;
  quiet?: boolean;
  members?: boolean;
  task?: string;
}

function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

/** Each input's text as the tables show it (a pair joined by ‖). */
function textCell(x: TextInput): string {
  return clip(x.text + (x.textPair ? ` ‖ ${x.textPair}` : ''), 60);
}

/** One model's answer in one table cell: its label and that label's probability. */
function answerCell(s: LabelScores): string {
  return `${s.label} ${s.score.toFixed(4)}`;
}

/** The same text for programs: `text` and, for pairs, `text_pair`. */
function textFields(x: TextInput): Record<string, string> {
  return { text: x.text, ...(x.textPair ? { text_pair: x.textPair } : {}) };
}

/** A multi-task merge without --task: every head from one run, one column (or JSON key) per task. */
async function printEveryTask(model: MultiTaskClassifier, inputs: readonly TextInput[], run: RunOptions, json: boolean): Promise<void> {
  const probs = await model.predictTasks(inputs, run);
  const answers = (i: number): Record<string, LabelScores> => Object.fromEntries(model.tasks.map((t) => [t.task, labelScores(t.labels, probs[t.task]!, i)]));
  if (json) {
    inputs.forEach((x, i) => printLine(JSON.stringify({ index: i, ...textFields(x), tasks: answers(i) })));
    return;
  }
  const header = ['#', ...model.tasks.map((t) => t.task), 'text'];
  const rows = inputs.map((x, i) => {
    const a = answers(i);
    return [i, ...model.tasks.map((t) => answerCell(a[t.task]!)), textCell(x)];
  });
  printLine(renderTable(header, rows, { right: header.map((_, j) => j === 0) }));
}

export function register(program: Command): void {
  const cmd = program
    .command('predict')
    .description('classify texts with a model folder, an .onnx file, or a combined bertfuse model')
    .argument('<model>', 'model folder, .onnx file (with config/tokenizer beside it), or combined folder')
    .option('-t, --text <text...>', 'text(s) to classify')
    .option('--text-pair <text>', 'second text of a pair (with a single --text)')
    .option('-i, --input <file>', 'JSONL with "text" (and optional "text_pair"), or plain text one per line; - reads stdin')
    .option('--encoding <name>', 'input encoding: utf8 (default), latin1, utf16le')
    .option('--json', 'one JSON record per input line (JSON Lines)')
    .option('-b, --batch-size <n>', 'batch size', positiveInt('--batch-size'), 32)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt('--threads'))
    .option('--members', `combined folders: each member's answer too, from the same graph (${SKIPPED} in the table, null in --json, where a cascade did not run the member)`)
    .option('-q, --quiet', 'no progress bar');
  addTaskFlag(addQuantizeFlag(cmd), 'multi-task merges: answer with this task\'s head only (default: every task, one column each)')
    .action(async (modelPath: string, f: PredictFlags) => {
      let inputs: TextInput[];
      if (f.input && f.text) throw new BertfuseError('E_USAGE', 'give --text or --input, not both');
      if (f.input) inputs = readTextInputs(f.input, f.encoding);
      else if (f.text) {
        if (f.textPair !== undefined && f.text.length !== 1) throw new BertfuseError('E_USAGE', '--text-pair needs exactly one --text');
        inputs = f.text.map((t) => ({ text: t, textPair: f.textPair ?? null }));
      } else throw new BertfuseError('E_USAGE', 'nothing to predict: give --text "..." or --input <file>');
      // One status line: a spinner while the model loads (a download bar for hub ids), then the run's bar.
      const line = statusLine({ quiet: Boolean(f.quiet) });
      line.spin(`loading ${modelPath}`);
      const opts: LoadOptions = { runtime: f.threads ? { threads: f.threads } : {}, ...(f.quantize ? { quantize: f.quantize } : {}), ...(f.task !== undefined ? { task: f.task } : {}), hub: { onProgress: (d, t) => line.bar(`download ${modelPath}`, d, t) } };
      const stopOnError = (e: unknown): never => {
        line.stop();
        throw e;
      };
      // A few inputs take a moment: no bar for them, the spinner just ends.
      const run: RunOptions = { batchSize: f.batchSize, onProgress: (d, t) => (inputs.length < 64 ? undefined : line.bar('predict', d, t)) };
      // A multi-task merge without --task answers with every head.
      const multi = f.task === undefined ? await loadMultiTask(modelPath, opts).catch(stopOnError) : null;
      if (multi) {
        if (inputs.length < 64) line.stop();
        try {
          if (f.members) throw new BertfuseError('E_USAGE', `--members needs a combined bertfuse folder; ${modelPath} is a multi-task merge (every task's head is shown already)`);
          await printEveryTask(multi, inputs, run, Boolean(f.json));
        } finally {
          line.stop();
          await multi.close();
        }
        return;
      }
      const model = await loadClassifier(modelPath, opts).catch(stopOnError);
      if (f.members && !model.predictDetailed) {
        await model.close();
        throw new BertfuseError('E_USAGE', `--members needs a combined bertfuse folder; ${modelPath} is one model`);
      }
      if (inputs.length < 64) line.stop();
      try {
        // With --members one run of the combined graph gives the fused answer and every member's.
        const detail = f.members ? await model.predictDetailed!(inputs, run) : null;
        const preds = detail ? inputs.map((_, i) => labelScores(model.labels, detail.fused, i)) : await predict(model, inputs, run);
        const members = (i: number) => (detail ? memberScores(detail, model.labels, i) : null);
        line.stop();
        if (f.json) {
          preds.forEach((p, i) => printLine(JSON.stringify({ index: i, ...textFields(inputs[i]!), label: p.label, score: p.score, probs: p.probs, ...(detail ? { members: members(i) } : {}) })));
          return;
        }
        const names = detail ? Object.keys(detail.members) : [];
        const header = ['#', 'label', ...model.labels.map((l) => `p(${l})`), ...names, 'text'];
        const rows = preds.map((p, i) => {
          const m = members(i);
          return [i, p.label, ...model.labels.map((l) => p.probs[l]!), ...names.map((n) => (m?.[n] ? answerCell(m[n]) : SKIPPED)), textCell(inputs[i]!)];
        });
        printLine(renderTable(header, rows, { right: header.map((h, j) => j === 0 || (j >= 2 && j < 2 + model.labels.length + names.length)) }));
        const legend = skippedLegend(rows);
        if (legend) printLine(legend);
      } finally {
        line.stop();
        await model.close();
      }
    });
}
