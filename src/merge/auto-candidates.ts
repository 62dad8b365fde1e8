import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AutoCandidate, AutoCandidateSource } from '../artifact/combine.js';
import type { Prepared } from '../eval/prepare.js';
import { parseMergeRecipe } from '../recipe/merge.js';
import { classifierFromCheckpoint } from '../runtime/classifier.js';
import { loadCheckpoint } from '../checkpoint/load.js';
import { merge } from './merge.js';
import { MERGE_METHODS } from './registry.js';
import { foldSplit, kFolds } from '../data/folds.js';
import { logLoss } from '../eval/metrics.js';
import type { MergeRecipe } from '../recipe/merge.js';
import type { TextInput } from '../checkpoint/tokenizer.js';

/**
 * Weight merges as contestants in `combine --method auto`. A merge competes only where it can
 * stand in for the ensemble: members with one architecture and size, one tokenizer, and the same
 * label names (so one merged head answers for all). Two candidates: a plain linear average (right
 * for members fine-tuned from one parent) and the same after permutation alignment by weight
 * matching (right for members trained from different random starts). Neither reads the labels,
 * so scoring them directly on the rows is as honest as the fusions' out-of-fold scores.
 */
const CANDIDATES: readonly { readonly name: string; readonly align: 'none' | 'weights' }[] = [
  { name: 'merge:linear', align: 'none' },
  { name: 'merge:linear+align', align: 'weights' },
];

/** Why the members cannot be merged into one head, or null when they can. */
export function mergeBlocker(p: Prepared): string | null {
  const ms = p.set.members;
  if (ms.length < 2) return 'needs two or more members';
  if (p.set.groups.length !== 1) return 'members use different tokenizers';
  const c0 = ms[0]!.checkpoint.config;
  const sizeKeys = ['hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'vocabSize', 'maxPositions', 'typeVocabSize', 'hiddenAct'] as const;
  for (const m of ms.slice(1)) {
    const c = m.checkpoint.config;
    if (c.family !== c0.family) return `members are of different families (${c0.family}, ${c.family})`;
    const differs = sizeKeys.filter((k) => c[k] !== c0[k]);
    if (differs.length) return `members differ in ${differs.join(', ')}`;
  }
  // The merge matches heads by the checkpoints' own label names (a --label-map rename is not applied there).
  const want = [...p.set.labels].sort().join('\u0000');
  for (const m of ms) {
    if ([...(m.checkpoint.config.labels ?? [])].sort().join('\u0000') !== want) return `${m.name}'s own label names differ from the common labels`;
  }
  return null;
}

/**
 * Merges `recipe` into a temp folder and returns its probabilities (common label order) on each
 * list of inputs; the folder is gone afterwards.
 */
async function mergedProbs(recipe: MergeRecipe, labels: readonly string[], inputSets: readonly (readonly TextInput[])[]): Promise<Float64Array[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-auto-merge-'));
  try {
    const out = path.join(tmp, 'merged');
    await merge(recipe, { out });
    const model = await classifierFromCheckpoint(loadCheckpoint(out));
    try {
      const k = labels.length;
      // The merged head lists labels in its own order: put its columns in the common order by name.
      const col = labels.map((l) => model.labels.indexOf(l));
      const result: Float64Array[] = [];
      for (const inputs of inputSets) {
        const own = await model.predictProba(inputs);
        const probs = new Float64Array(inputs.length * k);
        for (let i = 0; i < inputs.length; i++) for (let j = 0; j < k; j++) probs[i * k + j] = own[i * k + col[j]!]!;
        result.push(probs);
      }
      return result;
    } finally {
      await model.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function candidate(p: Prepared, spec: (typeof CANDIDATES)[number]): AutoCandidate {
  const recipe = parseMergeRecipe({
    merge_method: 'linear',
    models: p.set.members.map((m) => ({ model: m.checkpoint.dir })),
    align: spec.align,
    heads: 'merge',
    onnx: true,
  });
  return {
    name: spec.name,
    async score(prepared) {
      const scored = prepared.eval ?? prepared.fit;
      const [probs] = await mergedProbs(recipe, prepared.set.labels, [scored.data.inputs]);
      // One encoder of the members' shared size and tokenizer: the cost of one member.
      return { scoring: 'direct', probs: probs!, cost: 1 };
    },
    async write(out) {
      await merge(recipe, { out });
    },
  };
}

/** The source `combine` calls in auto mode: no candidates when a merge cannot serve (see mergeBlocker). */
export const mergeCandidates: AutoCandidateSource = async (p) => (mergeBlocker(p) === null ? CANDIDATES.map((c) => candidate(p, c)) : []);

/**
 * Merges that need the members' common parent (`base`): task arithmetic with its scale λ and TIES
 * with λ and density searched on a grid, and Model Stock (no knob) where the registry has it.
 * Hyperparameters are chosen by log-loss on rows the candidate is then NOT scored on: with
 * --eval-data, chosen on --data and scored on the eval rows; otherwise two-fold cross-fitting on
 * --data (each half predicted by the merge chosen on the other half). The exported merge uses the
 * grid point chosen on all of --data.
 */
export const SEARCH_GRIDS: readonly { readonly name: string; readonly method: string; readonly grid: readonly Readonly<Record<string, number>>[] }[] = [
  { name: 'merge:task_arithmetic', method: 'task_arithmetic', grid: [0.3, 0.5, 0.7, 1].map((lambda) => ({ lambda })) },
  { name: 'merge:ties', method: 'ties', grid: [0.2, 0.5, 0.8].flatMap((density) => [0.75, 1, 1.25].map((lambda) => ({ lambda, density }))) },
  { name: 'merge:model_stock', method: 'model_stock', grid: [{}] },
];

function searchRecipe(p: Prepared, base: string, method: string, point: Readonly<Record<string, number>>): MergeRecipe {
  const { density, ...global } = point;
  return parseMergeRecipe({
    merge_method: method,
    base_model: base,
    models: p.set.members.map((m) => ({ model: m.checkpoint.dir, parameters: method === 'model_stock' ? {} : { weight: 1, ...(density !== undefined ? { density } : {}) } })),
    ...(Object.keys(global).length > 0 ? { parameters: global } : {}),
    heads: 'merge',
    onnx: true,
  });
}

/** The grid point with the lowest log-loss on `rows` of `gold`. */
function choose(probs: readonly Float64Array[], gold: Int32Array, rows: Int32Array | null, k: number): number {
  let best = 0;
  let bestLoss = Infinity;
  probs.forEach((pr, g) => {
    const pick = rows ?? Int32Array.from(gold.keys());
    const sub = new Float64Array(pick.length * k);
    pick.forEach((r, i) => sub.set(pr.subarray(r * k, (r + 1) * k), i * k));
    const loss = logLoss(sub, Int32Array.from(pick, (r) => gold[r]!), k);
    if (loss < bestLoss) [best, bestLoss] = [g, loss];
  });
  return best;
}

function searchedCandidate(p: Prepared, base: string, spec: (typeof SEARCH_GRIDS)[number], seed: number): AutoCandidate {
  let exported: MergeRecipe | null = null;
  return {
    name: spec.name,
    async score(prepared) {
      const labels = prepared.set.labels;
      const k = labels.length;
      const fit = prepared.fit;
      const sets = prepared.eval ? [fit.data.inputs, prepared.eval.data.inputs] : [fit.data.inputs];
      const perPoint = [];
      for (const point of spec.grid) perPoint.push(await mergedProbs(searchRecipe(p, base, spec.method, point), labels, sets));
      const onFit = perPoint.map((x) => x[0]!);
      const gold = fit.data.labels;
      const chosen = choose(onFit, gold, null, k);
      exported = searchRecipe(p, base, spec.method, spec.grid[chosen]!);
      if (prepared.eval) return { scoring: 'eval-data', probs: perPoint[chosen]![1]!, cost: 1 };
      // Two-fold cross-fitting: never scored on the rows that chose the grid point.
      const folds = kFolds(gold, 2, seed);
      const probs = new Float64Array(gold.length * k);
      for (let f = 0; f < 2; f++) {
        const { train, test } = foldSplit(folds, f);
        const g = choose(onFit, gold, train, k);
        test.forEach((r) => probs.set(onFit[g]!.subarray(r * k, (r + 1) * k), r * k));
      }
      return { scoring: 'out-of-fold', probs, cost: 1 };
    },
    async write(out) {
      if (!exported) throw new Error(`${spec.name}: write() before score()`);
      await merge(exported, { out });
    },
  };
}

/** Candidates that need the members' parent (`--merge-base`); none when a merge cannot serve. */
export function baseMergeCandidates(base: string, seed: number): AutoCandidateSource {
  const known = new Set(MERGE_METHODS.map((m) => m.name));
  return async (p) => (mergeBlocker(p) === null ? SEARCH_GRIDS.filter((s) => known.has(s.method)).map((s) => searchedCandidate(p, base, s, seed)) : []);
}
