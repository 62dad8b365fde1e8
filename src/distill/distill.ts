import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TensorSource } from '../checkpoint/safetensors.js';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { writeMergedFolder } from '../artifact/merged.js';
import { readLabelled } from '../data/labelled.js';
import { readTextInputs } from '../data/texts.js';
import { BertfuseError } from '../errors.js';
import { evaluate, evalInputFrom, type ExternalRow } from '../eval/evaluate.js';
import { chooseMethods } from '../eval/methods.js';
import { prepare, type DataSpec } from '../eval/prepare.js';
import type { EvalResult } from '../eval/result.js';
import { FUSION_METHODS } from '../fusion/registry.js';
import { alignLabels, mapLabels, type LabelMap } from '../members/labels.js';
import { datasetFlops } from '../members/cost.js';
import { VERSION } from '../paths.js';
import { loadClassifier } from '../runtime/classifier.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { train, type StepInfo, type TrainExample, type TrainResult } from '../train/trainer.js';
import { dropoutRates, type DropoutRates } from '../train/dropout.js';
import { buildTrainingGraph, toCheckpointLayout } from '../train/training-graph.js';
import { withTempDir } from '../util/atomic.js';
import { seedFor } from '../util/rng.js';
import { augmentTexts, sidesOf } from './augment.js';
import { mlmSubstitutes, type WordSubstitutes } from './mlm-substitutes.js';
import { correctness, gainRetention, type GainRetention } from './retention.js';
import { loadStudent, type Student } from './student.js';
import { merge } from '../merge/merge.js';
import { loadMergeRecipe } from '../recipe/merge.js';
import { softmaxRows } from '../util/math.js';
import { fittedTeacher } from './fitted-teacher.js';
import { checkInterpolable, checkLambda, interpolateWeights } from './interpolate.js';
import { loadTeacher, type Teacher } from './teacher.js';

export const DISTILL_MANIFEST = 'bertfuse-distill.json';

export interface DistillOptions {
  /** A combined folder or model, or several members (fused with `method`). */
  readonly teacher: readonly string[];
  readonly method?: string;
  /** Parameters of `method` (fitted on the labelled `data` rows when it is not `mean`). */
  readonly methodParams?: Readonly<Record<string, string | number | boolean>>;
  /** The member whose weights start the student, or `merge:<recipe.yaml>` to start from a merge of the members ("merge, then heal"). */
  readonly student: string;
  /** Keep this many of its layers (every other for half: DistilBERT's initialisation). */
  readonly studentLayers?: number;
  /** Unlabelled transfer texts (JSONL or one per line). */
  readonly texts?: string;
  /**
   * Variants drawn per transfer text (`augment.ts`: words dropped or replaced, n-grams kept; the
   * teacher labels them, unlabelled); none is, contains or is inside an `evalData` row. Default 0.
   */
  readonly augment?: number;
  /**
   * A masked language model folder (…ForMaskedLM): the variants replace words by words it expects
   * in their place (`mlm-substitutes.ts`, TinyBERT's augmentation) instead of corpus words.
   */
  readonly augmentMlm?: string;
  /** More texts no augmented variant may be, contain or be inside, besides the `evalData` rows (say other held-out or tuning rows). */
  readonly avoid?: readonly string[];
  /** Labelled transfer rows: their hard-label term has weight `alpha`. */
  readonly data?: DataSpec;
  /** Held-out labelled rows: the student is scored next to the teacher and members on them. */
  readonly evalData?: DataSpec;
  /** Label order for integer labels in the data files; default the student's. */
  readonly labels?: readonly string[];
  /** Renames of label names (teacher, student and data) before they are matched: `{ NEG: 'negative' }`. */
  readonly labelMap?: LabelMap;
  /** Go on when a member scores below chance on the scoring rows under the declared labels. */
  readonly allowBelowChance?: boolean;
  readonly alpha?: number;
  readonly temperature?: number;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly seed?: number;
  readonly maxMinutes?: number;
  readonly out: string;
  /**
   * Dropout at the student config's probabilities, masks drawn from the seed each step (default
   * true); false trains the model as it predicts.
   */
  readonly dropout?: boolean;
  /**
   * Write θ = (1 − λ)·θ_start + λ·θ_distilled instead of the distilled weights (WiSE-FT); λ in
   * [0, 1], 1 (default) = no interpolation. Only for a student with its start's architecture.
   */
  readonly interpolate?: number;
  /** Continue from the checkpoint a previous (interrupted) run left beside `out`. */
  readonly resume?: boolean;
  readonly runtime?: RuntimeOptions;
  readonly onProgress?: (stage: 'substitutes' | 'teacher' | 'train' | 'score', info: { done: number; total: number; step?: StepInfo }) => void;
}

export interface DistillOutcome {
  readonly out: string;
  readonly files: readonly string[];
  readonly teacher: string;
  readonly student: { readonly source: string; readonly layers: number; readonly keptLayers: readonly number[] | null; readonly parameters: number };
  /** Transfer rows: unlabelled texts, labelled rows, and augmented variants of both (`augment`), with the variants dropped for being a scoring row's neighbour. */
  readonly transfer: { readonly texts: number; readonly labelled: number; readonly augmented: number; readonly avoided: number };
  /** Dropout probabilities applied during training, or null (turned off, or every probability of the config is 0). */
  readonly dropout: DropoutRates | null;
  readonly train: Omit<TrainResult, 'weights' | 'losses'> & { readonly firstLoss: number; readonly lastLoss: number };
  /** The scoring table (members, teacher, student), when `evalData` was given and the members are known. */
  readonly evaluation: EvalResult | null;
  /** Accuracy gain retention on the scored rows, with its bootstrap interval. */
  readonly retention: GainRetention | null;
  readonly seconds: number;
}

interface Hyper {
  readonly alpha: number;
  readonly temperature: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
}
export const DISTILL_DEFAULTS: Hyper = { alpha: 0.5, temperature: 2, epochs: 3, batchSize: 32, learningRate: 1e-4, seed: 0 };

/** The checkpoint an interrupted run leaves beside its output folder. */
export function trainStateFile(out: string): string {
  return `${path.resolve(out)}.bertfuse-train.safetensors`;
}

/**
 * Distils a teacher (a fused model) into one student encoder: the teacher labels the transfer set
 * with probabilities, the student is trained on T²·KL to them (plus α·cross-entropy on labelled
 * rows), then written as a Hugging Face folder + model.onnx and scored beside the teacher.
 */
export async function distill(opts: DistillOptions): Promise<DistillOutcome> {
  const started = Date.now();
  const o: Hyper & Partial<DistillOptions> = { ...DISTILL_DEFAULTS, ...stripUndefined(opts) };
  const runtime = opts.runtime ?? {};
  const source = await studentSource(opts.student, runtime);
  let student: Student;
  try {
    if (opts.interpolate !== undefined) checkLambda(opts.interpolate);
    if (opts.augmentMlm && !opts.augment) throw new BertfuseError('E_USAGE', `--augment-mlm ${opts.augmentMlm} draws the words of augmented variants: give --augment <n> too (variants per text)`);
    student = loadStudent(source.dir, opts.studentLayers);
    // Refused before any teacher run or training step, not after minutes of work.
    if (opts.interpolate !== undefined && opts.interpolate !== 1 && student.keptLayers !== null) {
      const kept = student.keptLayers;
      student.ckpt.close();
      checkInterpolable(kept, opts.student);
    }
  } catch (e) {
    source.cleanup();
    throw e;
  }
  let teacher: Teacher | null = null;
  try {
    const labelMap = opts.labelMap ?? {};
    teacher =
      opts.teacher.length > 1 && opts.method && opts.method !== 'mean'
        ? await fittedTeacher({ members: opts.teacher, method: opts.method, params: opts.methodParams ?? {}, data: opts.data, labels: opts.labels ?? null, labelMap, runtime })
        : await loadTeacher(opts.teacher, opts.method, runtime, labelMap);
    const studentLabels = mapLabels(student.config.labels!, labelMap, opts.student);
    // Teacher class j of the student = teacher's class toTeacher[j]; names must match exactly.
    const toTeacher = alignLabels(teacher.labels, studentLabels, opts.teacher.join(', '));
    // Data labels are read in the --labels order and trained as the student's class of that name.
    const dataLabels = o.labels ?? studentLabels;
    // The scoring rows are read (and checked) now: a bad --eval-data fails before the teacher runs
    // and the student trains, not minutes later after the student was written.
    const scoredRows = opts.evalData ? readLabelled(opts.evalData.path, { labels: dataLabels, labelMap, ...dataColumns(opts.evalData) }).inputs : [];
    const { inputs, gold, augmented, avoided } = await transferSet(opts, dataLabels, alignLabels(studentLabels, dataLabels, opts.student), labelMap, scoredRows, runtime);
    const soft = temperedTargets(await teacherTargets(teacher, inputs, toTeacher, opts.onProgress), toTeacher.length, o.temperature);

    // Building the training graph and its session takes a while before the first step: announced (no count yet).
    opts.onProgress?.('train', { done: 0, total: 0 });
    const tok = student.ckpt.tokenizer;
    const examples: TrainExample[] = inputs.map((inp, i) => ({ encoded: tok.encode(inp), soft: soft.subarray(i * toTeacher.length, (i + 1) * toTeacher.length), label: gold[i] ?? null }));
    const rates = opts.dropout === false ? null : dropoutRates(student.config);
    const graph = buildTrainingGraph(student.weights, { temperature: o.temperature, dropout: rates });
    // What was applied: none when every probability of the config is 0 (ModernBERT's defaults).
    const applied = graph.dropout.length > 0 ? rates : null;
    const stateFile = trainStateFile(opts.out);
    if (!opts.resume && fs.existsSync(stateFile)) {
      throw new BertfuseError('E_USAGE', `a checkpoint of an earlier run is here: continue it with --resume, or delete it`, stateFile);
    }
    const result = await train(graph, examples, tok.padId, {
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      seed: o.seed,
      alpha: o.alpha,
      checkpoint: stateFile,
      checkpointEvery: 50,
      resume: opts.resume ?? false,
      runtime,
      ...(opts.maxMinutes !== undefined ? { maxMinutes: opts.maxMinutes } : {}),
      ...(opts.onProgress ? { onStep: (s: StepInfo) => opts.onProgress!('train', { done: s.step, total: s.totalSteps, step: s }) } : {}),
    });
    if (result.stoppedBy === 'nonfinite') {
      const kept = result.checkpointStep !== null ? `the last good checkpoint (step ${result.checkpointStep}) is ${stateFile}` : 'no checkpoint had been written yet';
      throw new BertfuseError('E_NONFINITE', `the training loss became NaN/Infinity at step ${result.steps + 1}; stopped, ${kept}; nothing written to ${opts.out} (try a lower --lr)`);
    }

    const distilled = new Map(graph.params.map((p, k) => [p.tensor, toCheckpointLayout(p, result.weights[k]!)]));
    const lambda = opts.interpolate ?? 1;
    const trained = lambda === 1 ? distilled : interpolateWeights(distilled, (name) => student.weights.tensors.read(name).data, lambda);
    const files = await writeStudent(opts.out, student, trained, teacher, result, o, applied);
    fs.rmSync(stateFile, { force: true });
    const scored = opts.evalData ? await scoreStudent(opts.out, student, teacher, opts.evalData, dataLabels, labelMap, Boolean(opts.allowBelowChance), runtime, opts.onProgress) : null;
    const { weights: _w, losses, ...summary } = result;
    return {
      out: opts.out,
      files,
      teacher: teacher.name,
      student: { source: opts.student, layers: student.config.numLayers, keptLayers: student.keptLayers, parameters: graph.params.reduce((n, p) => n + p.data.length, 0) },
      dropout: applied,
      transfer: { texts: inputs.length - augmented - gold.filter((g) => g !== null).length, labelled: gold.filter((g) => g !== null).length, augmented, avoided },
      train: { ...summary, firstLoss: losses[0] ?? NaN, lastLoss: losses.at(-1) ?? NaN },
      evaluation: scored?.evaluation ?? null,
      retention: scored?.retention ?? null,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await teacher?.close();
    student.ckpt.close();
    source.cleanup();
  }
}

/**
 * `merge:<recipe.yaml>` ("merge, then heal"): the members are merged by the recipe into a temporary
 * folder and the merge is the student; anything else is a model folder.
 */
async function studentSource(spec: string, runtime: RuntimeOptions): Promise<{ dir: string; cleanup: () => void }> {
  if (!spec.startsWith('merge:')) return { dir: spec, cleanup: () => {} };
  const recipe = loadMergeRecipe(spec.slice('merge:'.length));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-distill-merge-'));
  const cleanup = (): void => fs.rmSync(tmp, { recursive: true, force: true });
  try {
    const r = await merge({ ...recipe, onnx: false }, { out: path.join(tmp, 'merged'), ...(runtime.threads ? { threads: runtime.threads } : {}) });
    if (r.heads === 'separate') throw new BertfuseError('E_INCOMPATIBLE', 'the recipe merges members with different labels into separate heads: a distillation student needs one head', spec.slice('merge:'.length));
    return { dir: r.out, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** Mean of the members' softmax probabilities: the `mean` fusion. */
function meanProbs(logits: readonly Float64Array[], k: number): Float64Array {
  const out = new Float64Array(logits[0]!.length);
  for (const z of logits) {
    const p = softmaxRows(z, k);
    for (let i = 0; i < out.length; i++) out[i] += p[i]! / logits.length;
  }
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Unlabelled texts first, then labelled rows (their gold index in the student's label order:
 * `toStudent[j]` for label j of `labels`), then the augmented variants of both, unlabelled: a
 * dropped or replaced word can turn a label, the teacher's probabilities cannot be wrong about it.
 */
async function transferSet(
  opts: DistillOptions,
  labels: readonly string[],
  toStudent: readonly number[],
  labelMap: LabelMap,
  scored: readonly TextInput[],
  runtime: RuntimeOptions,
): Promise<{ inputs: TextInput[]; gold: (number | null)[]; augmented: number; avoided: number }> {
  const inputs: TextInput[] = [];
  const gold: (number | null)[] = [];
  if (opts.texts) {
    for (const t of readTextInputs(opts.texts)) {
      inputs.push(t);
      gold.push(null);
    }
  }
  if (opts.data) {
    const d = readLabelled(opts.data.path, { labels, labelMap, ...dataColumns(opts.data) });
    d.inputs.forEach((t, i) => {
      inputs.push(t);
      gold.push(toStudent[d.labels[i]!]!);
    });
  }
  if (inputs.length === 0) throw new BertfuseError('E_BAD_DATA', 'the transfer set is empty: give --texts <file> and/or --data <labelled file> with at least one row');
  if (!opts.augment) return { inputs, gold, augmented: 0, avoided: 0 };
  // The scored rows are never trained on, not even as a variant of a transfer text.
  const avoid = [...scored.flatMap(sidesOf), ...(opts.avoid ?? [])];
  let substitutes: Map<string, WordSubstitutes> | undefined;
  if (opts.augmentMlm) {
    // Repeated texts are computed once inside mlmSubstitutes.
    const sides = inputs.flatMap(sidesOf);
    const found = await mlmSubstitutes(opts.augmentMlm, sides, { runtime, onProgress: (done, total) => opts.onProgress?.('substitutes', { done, total }) });
    substitutes = new Map(sides.map((t, i) => [t, found[i]!]));
  }
  const aug = augmentTexts(inputs, { variants: opts.augment, seed: seedFor(opts.seed ?? DISTILL_DEFAULTS.seed, 'augment'), avoid, ...(substitutes ? { substitutes } : {}) });
  for (const v of aug.variants) {
    inputs.push(v);
    gold.push(null);
  }
  return { inputs, gold, augmented: aug.variants.length, avoided: aug.avoided };
}

function dataColumns(d: DataSpec): { textColumn?: string; textPairColumn?: string; labelColumn?: string; encoding?: string } {
  return stripUndefined({ textColumn: d.textColumn, textPairColumn: d.textPairColumn, labelColumn: d.labelColumn, encoding: d.encoding });
}

/** Teacher probabilities in the student's label order, computed in chunks so progress can show. */
async function teacherTargets(teacher: Teacher, inputs: readonly TextInput[], toTeacher: readonly number[], onProgress: DistillOptions['onProgress']): Promise<Float32Array> {
  const k = toTeacher.length;
  const kt = teacher.labels.length;
  const out = new Float32Array(inputs.length * k);
  const chunk = 256;
  onProgress?.('teacher', { done: 0, total: inputs.length });
  for (let start = 0; start < inputs.length; start += chunk) {
    const part = inputs.slice(start, start + chunk);
    const p = await teacher.probs(part);
    for (let i = 0; i < part.length; i++) for (let j = 0; j < k; j++) out[(start + i) * k + j] = p[i * kt + toTeacher[j]!]!;
    onProgress?.('teacher', { done: Math.min(inputs.length, start + chunk), total: inputs.length });
  }
  return out;
}

/**
 * The teacher's distribution at temperature T, softmax(log p / T) row by row: the loss compares
 * softmax(student logits / T) with its soft targets (Hinton et al. 2015 soften BOTH sides), so the
 * targets must be softened too — the teacher's plain probabilities would make the student learn
 * logits T times too sharp. The teacher's log-probabilities serve as its logits (a fused teacher's
 * `logits` output is exactly that). T = 1 returns the probabilities unchanged.
 */
export function temperedTargets(probs: Float32Array, k: number, temperature: number): Float32Array {
  if (temperature === 1) return probs;
  const out = new Float32Array(probs.length);
  const logp = new Float64Array(k);
  for (let r = 0; r < probs.length; r += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) {
      // A zero probability is a logit of −∞: it stays 0 at any T.
      logp[j] = Math.log(probs[r + j]!) / temperature;
      if (logp[j]! > max) max = logp[j]!;
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logp[j]! - max);
    for (let j = 0; j < k; j++) out[r + j] = Math.exp(logp[j]! - max) / sum;
  }
  return out;
}

async function writeStudent(
  out: string,
  student: Student,
  trained: ReadonlyMap<string, Float32Array>,
  teacher: Teacher,
  result: TrainResult,
  o: Hyper & Partial<DistillOptions>,
  dropout: DropoutRates | null,
): Promise<string[]> {
  const store = student.weights.tensors;
  const source = (name: string): TensorSource => ({ name, shape: store.info(name).shape, data: () => trained.get(name) ?? store.read(name).data });
  const prefix = student.weights.prefix;
  // Heads live outside the encoder prefix (classifier.*, pre_classifier.*, head.*), BERT's pooler inside it.
  const isHead = (n: string): boolean => (prefix !== '' && !n.startsWith(prefix)) || n.startsWith(`${prefix}pooler.`);
  const names = store.names().sort();
  const manifest = {
    format: 'bertfuse-distill',
    version: 1,
    tool: `bertfuse ${VERSION}`,
    teacher: { name: teacher.name, method: teacher.method, sources: o.teacher },
    student: { source: o.student, layers: student.config.numLayers, keptLayers: student.keptLayers },
    options: { alpha: o.alpha, temperature: o.temperature, epochs: o.epochs, batchSize: o.batchSize, learningRate: o.learningRate, seed: o.seed, dropout: dropout ?? 0, interpolate: o.interpolate ?? 1, augment: o.augment ?? 0, ...(o.augmentMlm ? { augmentMlm: o.augmentMlm } : {}) },
    steps: result.steps,
    plannedSteps: result.totalSteps,
    stoppedBy: result.stoppedBy,
  };
  const card = [
    `# ${path.basename(path.resolve(out))}`,
    '',
    `Distilled by bertfuse ${VERSION} from teacher \`${teacher.name}\` (${teacher.method}) into a ${student.config.numLayers}-layer student initialised from \`${o.student}\`${student.keptLayers ? ` (layers ${student.keptLayers.join(', ')})` : ''}.`,
    '',
    ...(o.augment
      ? [
          o.augmentMlm
            ? `Transfer set: the texts plus ${o.augment} augmented variant(s) of each (words replaced by words the masked LM \`${o.augmentMlm}\` expects in their place, TinyBERT; n-grams kept, Tang et al. 2019), labelled by the teacher.`
            : `Transfer set: the texts plus ${o.augment} augmented variant(s) of each (words dropped or replaced, n-grams kept; Tang et al. 2019), labelled by the teacher.`,
          '',
        ]
      : []),
    ...(o.interpolate !== undefined && o.interpolate !== 1 ? [`Weights: (1 − λ) · start + λ · distilled with λ = ${o.interpolate} (WiSE-FT interpolation with \`${o.student}\`).`, ''] : []),
    `Loss: α = ${o.alpha} cross-entropy on labelled rows + T² · KL(teacher ‖ student) at T = ${o.temperature}; AdamW, lr ${o.learningRate}, batch ${o.batchSize}, ${result.steps} steps (${result.stoppedBy}), seed ${o.seed}, ${dropout ? `dropout ${Object.entries(dropout).map(([kind, p]) => `${p} (${kind})`).join(' / ')}, masks drawn from the seed` : 'dropout off'}.`,
    '',
  ].join('\n');
  return withTempDir(
    out,
    (tmp) => {
      const files = writeMergedFolder(tmp, {
        config: student.config,
        encoder: names.filter((n) => !isHead(n)).map(source),
        heads: [{ task: 'default', labels: student.config.labels!, tensors: names.filter(isHead).map(source) }],
        separateHeads: false,
        tokenizerFiles: student.ckpt.tokenizer.files,
        dtype: 'F32',
        shardSize: 4 * 1024 ** 3,
        onnx: true,
        extraFiles: { [DISTILL_MANIFEST]: JSON.stringify(manifest, null, 2) + '\n', 'README.md': card },
      });
      return [...files.files];
    },
    { kind: 'distill' },
  );
}

/**
 * The eval table on held-out rows: members (and the teacher, as the `mean` row or as its own
 * row for a combined folder) with the student beside them, cost relative to the cheapest member.
 */
async function scoreStudent(
  out: string,
  student: Student,
  teacher: Teacher,
  evalData: DataSpec,
  labels: readonly string[],
  labelMap: LabelMap,
  allowBelowChance: boolean,
  runtime: RuntimeOptions,
  onProgress: DistillOptions['onProgress'],
): Promise<{ evaluation: EvalResult; retention: GainRetention } | null> {
  if (teacher.members.length === 0) return null;
  const prepared = await prepare({ members: teacher.members.map((p) => ({ path: p })), data: evalData, labels, labelMap, ...(allowBelowChance ? { allowBelowChance } : {}), ...(runtime ? { runtime } : {}) }, (_s, done, total) =>
    onProgress?.('score', { done, total }),
  );
  try {
    const input = evalInputFrom(prepared);
    const rows = input.fit.inputs;
    const k = input.labels.length;
    const external: ExternalRow[] = [];
    const toRow = (p: Float32Array, order: readonly string[], name: string, kind: ExternalRow['kind'], cost: number): ExternalRow => {
      const map = alignLabels(order, input.labels, name);
      const probs = new Float64Array(rows.length * k);
      for (let i = 0; i < rows.length; i++) for (let j = 0; j < k; j++) probs[i * k + j] = p[i * order.length + map[j]!]!;
      return { name, kind, scoring: 'direct', probs, cost };
    };
    if (!teacher.fromMembers) external.push(toRow(await teacher.probs(rows), teacher.labels, `teacher (${teacher.method})`, 'fusion', input.members.reduce((s, m) => s + m.cost, 0)));
    const trained = await loadClassifier(out, { runtime });
    try {
      const lengths = rows.map((r) => student.ckpt.tokenizer.encode(r).inputIds.length);
      const minFlops = Math.min(...input.members.map((m) => m.flops / m.cost));
      const cost = datasetFlops(student.config, lengths, k) / minFlops;
      external.push(toRow(await trained.predictProba(rows), mapLabels(trained.labels, labelMap, out), `student (${path.basename(path.resolve(out))})`, 'distilled', cost));
    } finally {
      await trained.close();
    }
    const methods = teacher.fromMembers ? chooseMethods(FUSION_METHODS, 'mean', {}) : [];
    const evaluation = evaluate(input, methods, { folds: 2, seed: 0, external }).result;
    const gold = input.fit.gold;
    const members = new Map(input.fit.outputs.members.map((m) => [m.name, correctness(m.logits, gold, k)] as const));
    const teacherProbs = teacher.fromMembers ? meanProbs(input.fit.outputs.members.map((m) => m.logits), k) : external[0]!.probs;
    const retention = gainRetention(correctness(external.at(-1)!.probs, gold, k), correctness(teacherProbs, gold, k), members);
    return { evaluation, retention };
  } finally {
    prepared.close();
  }
}
