import { InvalidArgumentError, type Command } from 'commander';
import type { TextInput } from '../../checkpoint/tokenizer.js';
import { readTextInputs } from '../../data/texts.js';
import { BertfuseError } from '../../errors.js';
import { loadClassifier } from '../../runtime/classifier.js';
import { predict } from '../../runtime/predict.js';
import { positiveInt, printLine, SKIPPED, skippedLegend } from '../output.js';
import { labelScores, memberScores } from '../../runtime/label-scores.js';
import { QUANTIZE_MODES, type QuantizeMode } from '../../graph/quantize.js';
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
}

function quantizeMode(v: string): QuantizeMode {
  const mode = QUANTIZE_MODES.find((m) => m === v);
  if (!mode) throw new InvalidArgumentError(`--quantize must be one of: ${QUANTIZE_MODES.join(', ')}`);
  return mode;
}

function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

export function register(program: Command): void {
  program
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
    .option('--quantize <mode>', 'int8: dynamic int8 quantisation of the encoder (faster; outputs shift slightly)', quantizeMode)
    .option('--members', `combined folders: each member's answer too, from the same graph (${SKIPPED} in the table, null in --json, where a cascade did not run the member)`)
    .option('-q, --quiet', 'no progress bar')
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
      const model = await loadClassifier(modelPath, { runtime: f.threads ? { threads: f.threads } : {}, ...(f.quantize ? { quantize: f.quantize } : {}), hub: { onProgress: (d, t) => line.bar(`download ${modelPath}`, d, t) } }).catch((e: unknown) => {
        line.stop();
        throw e;
      });
      if (f.members && !model.predictDetailed) {
        await model.close();
        throw new BertfuseError('E_USAGE', `--members needs a combined bertfuse folder; ${modelPath} is one model`);
      }
      // A few inputs take a moment: no bar for them, the spinner just ends.
      if (inputs.length < 64) line.stop();
      try {
        const run = { batchSize: f.batchSize, onProgress: (d: number, t: number) => (inputs.length < 64 ? undefined : line.bar('predict', d, t)) };
        // With --members one run of the combined graph gives the fused answer and every member's.
        const detail = f.members ? await model.predictDetailed!(inputs, run) : null;
        const preds = detail ? inputs.map((_, i) => labelScores(model.labels, detail.fused, i)) : await predict(model, inputs, run);
        const members = (i: number) => (detail ? memberScores(detail, model.labels, i) : null);
        line.stop();
        if (f.json) {
          preds.forEach((p, i) => printLine(JSON.stringify({ index: i, text: inputs[i]!.text, ...(inputs[i]!.textPair ? { text_pair: inputs[i]!.textPair } : {}), label: p.label, score: p.score, probs: p.probs, ...(detail ? { members: members(i) } : {}) })));
          return;
        }
        const names = detail ? Object.keys(detail.members) : [];
        const header = ['#', 'label', ...model.labels.map((l) => `p(${l})`), ...names, 'text'];
        const rows = preds.map((p, i) => {
          const m = members(i);
          return [i, p.label, ...model.labels.map((l) => p.probs[l]!), ...names.map((n) => (m?.[n] ? `${m[n].label} ${m[n].score.toFixed(4)}` : SKIPPED)), clip(inputs[i]!.text + (inputs[i]!.textPair ? ` ‖ ${inputs[i]!.textPair}` : ''), 60)];
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
