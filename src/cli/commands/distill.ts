import { InvalidArgumentError, type Command } from 'commander';
import { DISTILL_DEFAULTS, distill, trainStateFile } from '../../distill/distill.js';
import { BertfuseError } from '../../errors.js';
import { evalTable } from '../../eval/format.js';
import { printJson, printLine, nonNegativeInt, positiveInt } from '../output.js';
import { statusLine } from '../progress.js';

const DISTILL_STAGE = { substitutes: 'masked-LM substitutes', teacher: 'teacher probabilities', train: 'train student', score: 'score on --eval-data' } as const;
import { parseOptionFlags } from '../../eval/methods.js';
import { addDataFlags, addMethodFlag, addOutFlag, addParamFlag, addRunFlags, collect, dataSpec, deprecatedOption, labelMapOf, paramValues, parseLabels, type DataFlags, type ParamFlags, type RunFlags } from '../flags.js';

interface DistillFlags extends DataFlags, RunFlags, ParamFlags {
  /** Old spelling of the positional teacher members. */
  teacher?: string[];
  method?: string;
  student?: string;
  studentLayers?: number;
  interpolate?: number;
  texts?: string;
  augment?: number;
  augmentMlm?: string;
  alpha?: number;
  temperature?: number;
  epochs?: number;
  lr?: number;
  seed?: number;
  maxMinutes?: number;
  out?: string;
  resume?: boolean;
  /** --no-dropout sets it false. */
  dropout?: boolean;
  allowBelowChance?: boolean;
}

function positiveNumber(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}
function fraction(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`${name} must be between 0 and 1`);
    return n;
  };
}

export function register(program: Command): void {
  // The shared vocabulary (../flags.ts): the teacher's members positional, -m the method, the data flags of eval/combine/merge.
  const cmd = program
    .command('distill')
    .description('train one student model on a teacher\'s probabilities (a combined folder, or members averaged): one member\'s cost, most of the ensemble\'s gain')
    .argument('[teacher...]', 'the teacher: a combined folder or model, or several member folders fused with --method')
    .addOption(deprecatedOption<string[]>('-t, --teacher <model>', 'positional teacher members (bertfuse distill A B --student …)', collect));
  addMethodFlag(cmd, 'how several teacher members are fused: mean (default), or any fusion method, fitted on the labelled --data rows');
  addParamFlag(cmd, 'a parameter of the teacher\'s method, e.g. weights=0.6,0.4');
  cmd
    .option('-s, --student <member>', 'model folder whose weights start the student (it keeps its own tokenizer), or merge:<recipe.yaml> to start from a merge of the members ("merge, then heal")')
    .option('--student-layers <n>', 'keep n of the student\'s layers, evenly spaced (half = every other layer, DistilBERT-style)', positiveInt('--student-layers'))
    .option('--interpolate <λ>', 'write (1 − λ) · start + λ · distilled weights (WiSE-FT), λ from 0 (the start) to 1 (default: the distilled student); not with --student-layers', fraction('--interpolate'))
    .option('--texts <file>', 'unlabelled transfer texts (JSONL with text/text_pair, or one text per line)')
    .option('--augment <n>', 'also train on n variants of every transfer row (words dropped or replaced, n-grams kept), labelled by the teacher; none is, contains or is inside an --eval-data row (default 0)', nonNegativeInt('--augment'))
    .option('--augment-mlm <folder>', 'a masked language model (…ForMaskedLM folder): the --augment variants replace words by words it expects in their place (TinyBERT) instead of corpus words');
  addDataFlags(cmd, {
    data: 'labelled transfer rows (TSV, CSV or JSONL): adds α · cross-entropy on their labels',
    evalData: 'held-out labelled rows: the student is scored next to the teacher and members',
    labels: "label order for integer labels in the data (default: the student's)",
  });
  cmd
    .option('--alpha <a>', `weight of the hard-label term on labelled rows (default ${DISTILL_DEFAULTS.alpha})`, fraction('--alpha'))
    .option('-T, --temperature <T>', `distillation temperature (default ${DISTILL_DEFAULTS.temperature})`, positiveNumber('--temperature'))
    .option('--epochs <n>', `passes over the transfer set (default ${DISTILL_DEFAULTS.epochs})`, positiveInt('--epochs'))
    .option('-b, --batch-size <n>', `training batch size (default ${DISTILL_DEFAULTS.batchSize})`, positiveInt('--batch-size'))
    .option('--lr <rate>', `peak AdamW learning rate (default ${DISTILL_DEFAULTS.learningRate})`, positiveNumber('--lr'))
    .option('--seed <n>', `seed for the batch order (default ${DISTILL_DEFAULTS.seed}); same seed and data → same bytes`, nonNegativeInt('--seed'))
    .option('--allow-below-chance', 'score even when a member is below chance on --eval-data under the declared labels (normally a sign the label order is wrong)')
    .option('--max-minutes <m>', 'time budget for training: the schedule is shortened to fit', positiveNumber('--max-minutes'));
  addOutFlag(cmd, 'where to write the student (Hugging Face folder + model.onnx)');
  cmd.option('--resume', 'continue an interrupted run from the checkpoint beside --out');
  cmd.option('--no-dropout', 'train without dropout (default: the student config\'s probabilities, masks drawn from --seed)');
  addRunFlags(cmd, { batchSize: false })
    .action(async (members: string[], f: DistillFlags) => {
      const teachers = [...members, ...(f.teacher ?? [])];
      if (!teachers.length) throw new BertfuseError('E_USAGE', 'distill needs a teacher: bertfuse distill <combined folder> --student … (or several member folders, fused with --method mean)');
      if ((f.evalData?.length ?? 0) > 1) throw new BertfuseError('E_USAGE', `distill scores on one --eval-data file, got ${f.evalData!.length}`);
      if (!f.student) throw new BertfuseError('E_USAGE', 'distill needs --student <member folder>');
      if (!f.out) throw new BertfuseError('E_USAGE', 'distill needs --out <folder>');
      if (!f.texts && !f.data) throw new BertfuseError('E_USAGE', 'distill needs a transfer set: --texts <file> and/or --data <labelled file>');
      // A spinner while teacher and student load, then the stage running now.
      const line = statusLine({ quiet: Boolean(f.quiet || f.json) });
      line.spin('loading teacher and student');
      const labels = parseLabels(f.labels);
      const spec = (file: string) => dataSpec(file, f);
      const labelMap = labelMapOf(f);
      let outcome;
      try {
        outcome = await distill({
          teacher: teachers,
          student: f.student,
          out: f.out,
          ...(f.method ? { method: f.method } : {}),
          ...(paramValues(f).length ? { methodParams: parseOptionFlags(paramValues(f)) } : {}),
          ...(f.studentLayers ? { studentLayers: f.studentLayers } : {}),
          ...(f.interpolate !== undefined ? { interpolate: f.interpolate } : {}),
          ...(f.texts ? { texts: f.texts } : {}),
          ...(f.augment ? { augment: f.augment } : {}),
          ...(f.augmentMlm ? { augmentMlm: f.augmentMlm } : {}),
          ...(f.data ? { data: spec(f.data) } : {}),
          ...(f.evalData?.[0] !== undefined ? { evalData: spec(f.evalData[0]) } : {}),
          ...(labels ? { labels } : {}),
          ...(Object.keys(labelMap).length ? { labelMap } : {}),
          ...(f.allowBelowChance ? { allowBelowChance: true } : {}),
          ...(f.alpha !== undefined ? { alpha: f.alpha } : {}),
          ...(f.temperature !== undefined ? { temperature: f.temperature } : {}),
          ...(f.epochs !== undefined ? { epochs: f.epochs } : {}),
          ...(f.batchSize !== undefined ? { batchSize: f.batchSize } : {}),
          ...(f.lr !== undefined ? { learningRate: f.lr } : {}),
          ...(f.seed !== undefined ? { seed: f.seed } : {}),
          ...(f.maxMinutes !== undefined ? { maxMinutes: f.maxMinutes } : {}),
          ...(f.resume ? { resume: true } : {}),
          ...(f.dropout === false ? { dropout: false } : {}),
          ...(f.threads ? { runtime: { threads: f.threads } } : {}),
          onProgress: (stage, info) => line.bar(DISTILL_STAGE[stage], info.done, info.total, info.step ? `loss ${info.step.loss.toFixed(4)}` : undefined),
        });
      } finally {
        line.stop();
      }
      if (f.json) return printJson(outcome);
      const t = outcome.train;
      printLine(`teacher ${outcome.teacher}; student ${outcome.student.layers} layers from ${outcome.student.source}${outcome.student.keptLayers ? ` (layers ${outcome.student.keptLayers.join(', ')})` : ''}, ${outcome.student.parameters} parameters`);
      const aug = outcome.transfer.augmented || outcome.transfer.avoided ? ` + ${outcome.transfer.augmented} augmented variants${outcome.transfer.avoided ? ` (${outcome.transfer.avoided} near an --eval-data row left out)` : ''}` : '';
      printLine(`transfer set: ${outcome.transfer.texts} texts + ${outcome.transfer.labelled} labelled rows${aug}; ${t.steps}/${t.totalSteps} steps${t.stoppedBy === 'time' ? ' (time budget reached)' : ''}${t.resumedFrom !== null ? ` (resumed at step ${t.resumedFrom})` : ''}; loss ${t.firstLoss.toFixed(4)} → ${t.lastLoss.toFixed(4)}; ${outcome.seconds.toFixed(1)} s`);
      if (outcome.evaluation) {
        printLine();
        printLine(evalTable(outcome.evaluation));
        const g = outcome.retention;
        if (g) {
          const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
          printLine();
          printLine(
            g.retention === null
              ? `gain retention: undefined (the teacher, ${pct(g.teacher)}, does not beat the best member ${g.bestMember}, ${pct(g.best)})`
              : `gain retention (student − best member) / (teacher − best member) = ${pct(g.retention)}${g.ci ? ` (95% bootstrap CI ${pct(g.ci[0])} to ${pct(g.ci[1])})` : ''}; best member ${g.bestMember} ${pct(g.best)}, teacher ${pct(g.teacher)}, student ${pct(g.student)}, ${g.rows} rows`,
          );
        }
      } else if (f.evalData) {
        printLine('(no table: the teacher\'s members are not known — pass them as the teacher, bertfuse distill A B --student …, or keep the combined folder\'s member paths valid)');
      }
      printLine();
      printLine(`wrote ${outcome.out} (${outcome.files.length} files; checkpoint ${trainStateFile(outcome.out)} removed)`);
    });
}
