import fs from 'node:fs';
import path from 'node:path';
import { alignSources, type AlignmentReport } from '../align/align.js';
import { alignmentOf } from '../align/rules.js';
import { familyOf } from '../architectures/registry.js';
import { getAllowNonFiniteDefault, loadCheckpoint, type Checkpoint } from '../checkpoint/load.js';
import type { TensorSource, WriteDType } from '../checkpoint/safetensors.js';
import { MERGE_MANIFEST, writeMergedFolder, type MergedHead } from '../artifact/merged.js';
import { BertfuseError } from '../errors.js';
import type { QuantizeMode } from '../graph/quantize.js';
import { alignLabels } from '../members/labels.js';
import { mergeRecipeToYaml, type MergeDType, type MergeRecipe } from '../recipe/merge.js';
import { VERSION } from '../paths.js';
import { withTempDir } from '../util/atomic.js';
import { assertReplaceable, OWNERSHIP_FILE } from '../util/ownership.js';
import { seedFor } from '../util/rng.js';
import { renderMergeCard } from './card.js';
import { checkMembersAreClassifiers, checkSameLabelSet, checkSameShape, checkSameVocabulary, sameLabelSet } from './checks.js';
import { evaluateMerged, type EvalRow, type EvalSet } from './evaluate.js';
import { linear } from './linear.js';
import { layerPosition, resolveParams, type ParamMap } from './params.js';
import { roundTo } from './dtype.js';
import { resolveModelPath } from '../checkpoint/hub.js';
import { GramStore } from './regmean-stats.js';
import { probeNamesOf } from './probe.js';
import { FisherStore } from './fisher-stats.js';
import { mergeMethod } from './registry.js';
import { MergeSource } from './sources.js';
import { readUnlabelledTexts } from './texts.js';
import type { MergeMethod } from './types.js';

export type MergePhase = 'align' | 'statistics' | 'merge' | 'onnx' | 'evaluate';

export interface MergeOptions {
  /** Output folder. Created (or replaced, if it holds an earlier merge) atomically at the end. */
  readonly out: string;
  readonly onProgress?: (phase: MergePhase, done: number, total: number) => void;
  /** Labelled sets to score the merged model on, next to the members and their ensemble. */
  readonly evaluate?: readonly EvalSet[];
  /** onnxruntime intra-op threads for statistics and evaluation. */
  readonly threads?: number;
}

export interface MergedTask {
  readonly task: string;
  readonly labels: readonly string[];
  /** Folder of this task's Hugging Face checkpoint, relative to `out` ('' for a single merged head). */
  readonly folder: string;
  /** The ONNX output with this task's logits. */
  readonly output: string;
  /** Members whose head this task uses. */
  readonly members: readonly string[];
}

export interface MergeResult {
  readonly out: string;
  readonly method: string;
  /** Member names (folder names), in recipe order. */
  readonly members: readonly string[];
  readonly heads: 'merged' | 'separate';
  readonly tasks: readonly MergedTask[];
  /** Tensors written (encoder + heads). */
  readonly tensors: number;
  /** Every file written, relative to `out`. */
  readonly files: readonly string[];
  readonly onnx: string | null;
  /** int8 when model.onnx's encoder layers are dynamically quantised (recipe quantize); null for float32 or no model.onnx. */
  readonly onnxQuantize: QuantizeMode | null;
  readonly alignment: readonly AlignmentReport[];
  /** Fallbacks and degenerate cases the user should know about. */
  readonly notes: readonly string[];
  readonly evaluation: readonly EvalRow[];
  readonly seconds: number;
}

const WRITE_DTYPE: Record<MergeDType, WriteDType> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

function taskName(spec: string | null, ckpt: Checkpoint, taken: Set<string>): string {
  let base = spec ?? ckpt.name.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (!/^[A-Za-z]/.test(base)) base = `task_${base}`;
  let name = base;
  for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
  taken.add(name);
  return name;
}

/**
 * Alignment permutes units only where the family's rules say the function is kept; a family
 * without rules, or a tensor no rule covers, makes the whole alignment refuse up front, naming the
 * tensor and the family. Returns what the rules leave in place, for the notes.
 */
function checkAlignable(ref: MergeSource, align: string): string | null {
  const rules = alignmentOf(ref.ckpt);
  const cfg = ref.ckpt.config;
  // Activation matching reads units at the probe points its family declares (merge/probe.ts: BERT's parts, or Family.probes).
  if (align === 'activations' && !probeNamesOf(ref.ckpt)) {
    throw new BertfuseError('E_INCOMPATIBLE', `align: activations needs to know where ${cfg.architecture} (${cfg.family}) computes its units, and its family does not say; use align: weights (its permutation rules are known)`, path.join(ref.ckpt.dir, 'config.json'));
  }
  const names = ref.canonicalNames().filter((n) => !n.startsWith('cls.') && !n.startsWith('lm_head.'));
  for (const n of names) {
    if (!rules.axes(n)) {
      throw new BertfuseError(
        'E_INCOMPATIBLE',
        `align: ${align} cannot permute ${ref.ckpt.config.architecture} (${ref.ckpt.config.family}): tensor "${ref.storeName(n)}" has no permutation rule that keeps the function; use align: none`,
        path.join(ref.ckpt.dir, 'config.json'),
      );
    }
  }
  return rules.note ?? null;
}

/**
 * Merge the recipe's members into one checkpoint at `opts.out`. Streaming: tensors are merged one
 * at a time while the shards are written, so memory holds the current tensor of each member (plus
 * the alignment's and RegMean's statistics), never a whole model.
 */
export async function merge(recipe: MergeRecipe, opts: MergeOptions): Promise<MergeResult> {
  const started = Date.now();
  const method = mergeMethod(recipe.mergeMethod);
  const out = path.resolve(opts.out);
  // Before any work: refuse an --out that is not an untouched earlier bertfuse output.
  assertReplaceable(opts.out);
  // Hub ids (org/name) become local snapshot folders first: from the cache, or downloaded into it.
  const local = new Map<string, string>();
  for (const p of [...recipe.models.map((m) => m.model), ...(recipe.baseModel ? [recipe.baseModel] : [])]) local.set(p, await resolveModelPath(p));
  const opened: Checkpoint[] = [];
  const open = (p: string): Checkpoint => {
    const c = loadCheckpoint(local.get(p) ?? p);
    opened.push(c);
    return c;
  };
  try {
    const memberCkpts = recipe.models.map((m) => open(m.model));
    const baseCkpt = recipe.baseModel !== null ? open(recipe.baseModel) : null;
    const ref = memberCkpts[0]!;
    checkMembersAreClassifiers(memberCkpts);
    const everyone = baseCkpt ? [...memberCkpts.slice(1), baseCkpt] : memberCkpts.slice(1);
    checkSameShape(ref, everyone);
    checkSameVocabulary(ref, everyone);
    checkLayerRanges(recipe, memberCkpts);

    const labelSets = memberCkpts.map((c) => c.config.labels!);
    const byPosition = recipe.labelMatch === 'position';
    // label_match: position is mergekit's: classifier rows merge by index, whatever their names.
    const labelsMatch = labelSets.every((l) => (byPosition ? l.length === labelSets[0]!.length : sameLabelSet(l, labelSets[0]!)));
    if (recipe.heads === 'merge') (byPosition ? checkSameLabelCount : checkSameLabelSet)(memberCkpts);
    const separate = recipe.heads === 'separate' || (recipe.heads === 'auto' && !labelsMatch);

    const members = memberCkpts.map((c) => new MergeSource(c, 'member'));
    const base = baseCkpt ? new MergeSource(baseCkpt, 'base') : null;
    if (!separate && byPosition) {
      if (base?.ckpt.config.labels && base.ckpt.config.labels.length !== ref.config.labels!.length) base.headless = true;
    } else if (!separate) {
      // One head: classifier rows follow the first member's label order, matched by name.
      for (const m of members) m.labelOrder = alignLabels(m.ckpt.config.labels!, ref.config.labels!, m.ckpt.dir);
      // A classifier base_model's head is a base for the merged head only with the same label
      // names, its rows put in the same order; a base with other labels is treated as headless.
      if (base?.ckpt.config.labels) {
        if (sameLabelSet(base.ckpt.config.labels, ref.config.labels!)) base.labelOrder = alignLabels(base.ckpt.config.labels, ref.config.labels!, base.ckpt.dir);
        else base.headless = true;
      }
    }

    // Before reading texts or any statistics: a family or alignment mode the rules cannot serve is refused.
    const alignNote = recipe.align !== 'none' ? checkAlignable(members[0]!, recipe.align) : null;
    const needsTexts = recipe.align === 'activations' || method.stats !== null;
    const texts = needsTexts ? readUnlabelledTexts(recipe.texts, recipe.maxTexts, recipe.textsEncoding ?? undefined) : [];
    const statsOpts = { ...(opts.threads ? { threads: opts.threads } : {}) };

    let alignment: AlignmentReport[] = [];
    if (recipe.align !== 'none') {
      opts.onProgress?.('align', 0, 0); // each phase is announced as it starts (0 of an unknown total)
      const others = base ? [...members.slice(1), base] : members.slice(1);
      alignment = await alignSources(members[0]!, others, recipe.align, texts, {
        ...statsOpts,
        seed: recipe.seed,
        ...(opts.onProgress ? { onProgress: (d: number, t: number) => opts.onProgress!('align', d, t) } : {}),
      });
    }

    const encoderNames = members[0]!.canonicalNames().filter((n) => members[0]!.isEncoder(n));
    const headNames = members[0]!.canonicalNames().filter((n) => !members[0]!.isEncoder(n));
    const mergedNames = separate ? encoderNames : [...encoderNames, ...headNames];

    if (method.stats !== null) opts.onProgress?.('statistics', 0, 0);
    const fishers =
      method.stats === 'fisher'
        ? await FisherStore.collect(members, texts, {
            ...statsOpts,
            ...(opts.onProgress ? { onProgress: (d: number, t: number) => opts.onProgress!('statistics', d, t) } : {}),
          })
        : null;
    let grams: GramStore | null = null;
    if (method.stats === 'gram') {
      grams = await GramStore.collect(members, mergedNames, texts, {
        ...statsOpts,
        ...(opts.onProgress ? { onProgress: (d: number, t: number) => opts.onProgress!('statistics', d, t) } : {}),
      });
    }

    const notes: string[] = [...(alignNote ? [alignNote] : []), ...mergekitNotes(recipe, memberCkpts, baseCkpt)];
    const noBase: string[] = [];
    const numLayers = ref.config.numLayers;
    const total = mergedNames.length;
    let done = 0;
    const mergedSource = (name: string): TensorSource => {
      // Written under the first member's own names (canonical names are BERT's, see sources.ts).
      const shape = ref.tensors.info(members[0]!.storeName(name)).shape;
      return {
        name: members[0]!.storeName(name),
        shape,
        data: () => {
          if (done === 0) opts.onProgress?.('merge', 0, total);
          const r = mergeTensor(method, recipe, name, layerPosition(name, numLayers), members, base, grams, shape, noBase, fishers);
          if (r.note) notes.push(r.note);
          opts.onProgress?.('merge', ++done, total);
          return r.data;
        },
      };
    };
    const copiedSource = (m: MergeSource, name: string): TensorSource => ({ name: m.storeName(name), shape: m.ckpt.tensors.info(m.storeName(name)).shape, data: () => m.read(name) });

    const taken = new Set<string>();
    const heads: MergedHead[] = separate
      ? members.map((m, i) => ({ task: taskName(recipe.models[i]!.task, m.ckpt, taken), labels: m.ckpt.config.labels!, tensors: headNames.map((n) => copiedSource(m, n)) }))
      : [{ task: taskName(recipe.models[0]!.task, ref, taken), labels: ref.config.labels!, tensors: headNames.map(mergedSource) }];
    const tasks: MergedTask[] = heads.map((h, i) => ({
      task: h.task,
      labels: h.labels,
      folder: separate ? h.task : '',
      output: separate ? `logits_${h.task}` : 'logits',
      members: separate ? [members[i]!.name] : members.map((m) => m.name),
    }));

    const recipeYaml = `# bertfuse ${VERSION} merge recipe (reproduce with: bertfuse merge merge.yaml --out <dir>)\n${mergeRecipeToYaml(recipe)}`;
    const evaluation: EvalRow[] = [];
    const written = await withTempDir(out, async (tmp) => {
      const files = writeMergedFolder(tmp, {
        config: ref.config,
        encoder: encoderNames.map(mergedSource),
        heads,
        separateHeads: separate,
        tokenizerFiles: tokenizerSource(recipe, memberCkpts, baseCkpt).tokenizer.files,
        dtype: WRITE_DTYPE[recipe.outDtype ?? recipe.dtype],
        shardSize: recipe.shardSize,
        onnx: recipe.onnx,
        quantize: recipe.quantize,
        extraFiles: { 'merge.yaml': recipeYaml },
        ...(opts.onProgress ? { onOnnx: (d: number, t: number) => opts.onProgress!('onnx', d, t) } : {}),
      });
      if (noBase.length) {
        const why = base?.headless ? `base_model's head has other labels [${base.ckpt.config.labels!.join(', ')}], so it is not used for` : 'base_model has no';
        notes.unshift(`${why} ${noBase.map((n) => members[0]!.storeName(n)).join(', ')}; ${noBase.length === 1 ? 'it was' : 'they were'} merged with linear (the members' weighted average)`);
      }
      // Written before the evaluation, which opens the folder as predict does (a multi-task model.onnx through its manifest).
      const manifest = { format: 'bertfuse-merge', version: 1, tool: `bertfuse ${VERSION}`, method: method.name, heads: separate ? 'separate' : 'merged', tasks, onnx: files.onnx, ...(files.onnx && recipe.quantize ? { quantize: recipe.quantize } : {}) };
      fs.writeFileSync(path.join(tmp, MERGE_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
      if (opts.evaluate?.length) {
        opts.onProgress?.('evaluate', 0, 0);
        evaluation.push(
          ...(await evaluateMerged(tmp, tasks, memberCkpts, opts.evaluate, {
            ...statsOpts,
            int8: files.onnx !== null && recipe.quantize === 'int8',
            ...(opts.onProgress ? { onProgress: (d: number, t: number) => opts.onProgress!('evaluate', d, t) } : {}),
          })),
        );
      }
      const card = renderMergeCard({ recipe, method, members: memberCkpts, base: baseCkpt, tasks, alignment, notes, evaluation, recipeYaml, name: path.basename(out), quantized: files.quantized });
      fs.writeFileSync(path.join(tmp, 'README.md'), card);
      return { ...files, files: [...files.files, 'README.md', MERGE_MANIFEST, OWNERSHIP_FILE].sort() };
    }, { kind: 'merge' });
    return {
      out,
      method: method.name,
      members: members.map((m) => m.name),
      heads: separate ? 'separate' : 'merged',
      tasks,
      tensors: mergedNames.length + (separate ? headNames.length * members.length : 0),
      files: written.files,
      onnx: written.onnx,
      onnxQuantize: written.onnx ? recipe.quantize : null,
      alignment,
      notes,
      evaluation,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    for (const c of opened) c.close();
  }
}

/** mergekit's `slices:` form: each model's layer_range must be all of its layers. */
function checkLayerRanges(recipe: MergeRecipe, ckpts: readonly Checkpoint[]): void {
  recipe.models.forEach((m, i) => {
    const n = ckpts[i]!.config.numLayers;
    if (m.layerRange && (m.layerRange[0] !== 0 || m.layerRange[1] !== n)) {
      throw new BertfuseError('E_BAD_RECIPE', `layer_range [${m.layerRange.join(', ')}] of ${m.model} must be [0, ${n}]: only whole models are merged (the model has ${n} layers)`);
    }
  });
}

/** A merged head by position (label_match: position) needs the same number of classes. */
function checkSameLabelCount(ckpts: readonly Checkpoint[]): void {
  const n = ckpts[0]!.config.labels!.length;
  for (const c of ckpts.slice(1)) {
    if (c.config.labels!.length !== n) throw new BertfuseError('E_LABEL_MISMATCH', `${c.config.labels!.length} labels but ${ckpts[0]!.name} has ${n}: label_match: position merges classifier rows by index`, path.join(c.dir, 'config.json'));
  }
}

/** The checkpoint whose tokenizer files are written: mergekit's tokenizer_source, else the first model. */
function tokenizerSource(recipe: MergeRecipe, members: readonly Checkpoint[], base: Checkpoint | null): Checkpoint {
  const src = recipe.tokenizerSource;
  if (src === 'base' && base) return base;
  const i = src === null || src === 'union' ? -1 : recipe.models.findIndex((m) => m.model === src);
  if (i >= 0) return members[i]!;
  if (src !== null && src === recipe.baseModel && base) return base;
  return members[0]!;
}

/** What mergekit's keys that change nothing here did (said, not silently dropped). */
function mergekitNotes(recipe: MergeRecipe, members: readonly Checkpoint[], base: Checkpoint | null): string[] {
  const notes: string[] = [];
  if (recipe.parameters['int8_mask'] === true) notes.push("int8_mask: true only changes the memory type of mergekit's sign mask; the merged values are the same");
  if (recipe.tokenizerSource !== null) {
    const from = tokenizerSource(recipe, members, base);
    notes.push(`tokenizer_source: ${recipe.tokenizerSource} — every model has the same vocabulary (checked), so no embedding row moves; the tokenizer files are ${from.name}'s`);
  }
  return notes;
}

/**
 * With `normalize` the weighted sum is divided by Σ w: weights that cancel out (1 and -1) would
 * otherwise either divide by zero or, as the methods guard against that, silently skip the
 * normalisation and ship θ_a − θ_b. Refused, naming the tensor and the weights.
 */
function checkWeightSum(method: MergeMethod, params: Readonly<Record<string, unknown>>, modelParams: ReadonlyArray<Readonly<Record<string, unknown>>>, tensor: string): void {
  if (params['normalize'] !== true) return;
  const w = modelParams.map((p) => p['weight']).filter((x): x is number => typeof x === 'number');
  if (w.length !== modelParams.length) return;
  const total = w.reduce((a, b) => a + b, 0);
  const scale = Math.max(...w.map(Math.abs));
  if (Math.abs(total) <= 1e-9 * scale || !Number.isFinite(total) || !Number.isFinite(1 / total)) {
    const why = Number.isFinite(total) ? 'give weights that do not cancel out, or normalize: false' : 'the sum overflows; use smaller weights (only their ratios matter with normalize)';
    throw new BertfuseError('E_BAD_RECIPE', `${method.name} with normalize: the weights for "${tensor}" (${w.join(', ')}) sum to ${total}, and the merge divides by that sum; ${why}`);
  }
}

/** One tensor through the method (or through linear, when the method needs a base tensor the base lacks). */
function mergeTensor(
  method: MergeMethod,
  recipe: MergeRecipe,
  name: string,
  t: number,
  members: readonly MergeSource[],
  base: MergeSource | null,
  grams: GramStore | null,
  shape: readonly number[],
  noBase: string[],
  fishers: FisherStore | null = null,
): { data: Float32Array; note?: string } {
  let use = method;
  let baseData: Float32Array | null = null;
  if (method.base === 'required' || (method.base === 'optional' && base)) {
    if (base && base.has(name) && !(base.headless && !base.isEncoder(name))) baseData = roundTo(base.read(name), recipe.dtype);
    else {
      use = linear;
      noBase.push(name);
    }
  }
  const perModel = recipe.models.map((m) => m.parameters);
  // The fallback is the members' weighted average, as the note promises: only the weights carry
  // over, and it is normalised whatever the method's own `normalize` says (a Σ w·θ head with
  // normalize: false would scale the classifier by Σ w).
  const weightsOnly = (p: ParamMap): ParamMap => (p['weight'] === undefined ? {} : { weight: p['weight'] });
  const { params, modelParams } =
    use === method ? resolveParams(use, recipe.parameters, perModel, name, t) : resolveParams(use, { weight: 1, ...weightsOnly(recipe.parameters), normalize: true }, perModel.map(weightsOnly), name, t);
  checkWeightSum(use, params, modelParams, name);
  // mergekit's dtype is the compute dtype: inputs are cast to it, and so is the result.
  const tensors = members.map((m) => roundTo(m.read(name), recipe.dtype));
  const r = use.merge({
    name,
    shape,
    tensors,
    base: baseData,
    params,
    modelParams,
    seed: seedFor(recipe.seed, name),
    grams: use.stats === 'gram' && grams && shape.length === 2 ? grams.forWeight(name, shape[1]!) : null,
    fisher: use.stats === 'fisher' && fishers ? fishers.forTensor(name) : null,
  });
  const data = roundTo(r.data, recipe.dtype);
  // Inputs are checked on read, so a non-finite output means the parameters overflowed it;
  // with --allow-nonfinite the inputs may carry Inf/NaN themselves, and the user asked to pass them on.
  if (!getAllowNonFiniteDefault()) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) throw new BertfuseError('E_NONFINITE', `${method.name} produced a non-finite value in "${name}" (index ${i}); check the parameters`);
    }
  }
  return r.note ? { data, note: r.note } : { data };
}
