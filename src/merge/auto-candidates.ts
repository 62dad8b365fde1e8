import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AutoCandidate, AutoCandidateSource } from '../artifact/combine.js';
import type { Prepared } from '../eval/prepare.js';
import { parseMergeRecipe } from '../recipe/merge.js';
import { classifierFromCheckpoint } from '../runtime/classifier.js';
import { loadCheckpoint } from '../checkpoint/load.js';
import { merge } from './merge.js';

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
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-auto-merge-'));
      try {
        const out = path.join(tmp, 'merged');
        await merge(recipe, { out });
        const ckpt = loadCheckpoint(out);
        const model = await classifierFromCheckpoint(ckpt);
        try {
          const scored = prepared.eval ?? prepared.fit;
          const own = await model.predictProba(scored.data.inputs);
          // The merged head lists labels in its own order: put its columns in the common order by name.
          const labels = prepared.set.labels;
          const k = labels.length;
          const col = labels.map((l) => model.labels.indexOf(l));
          const probs = new Float64Array(scored.data.inputs.length * k);
          for (let i = 0; i < scored.data.inputs.length; i++) for (let j = 0; j < k; j++) probs[i * k + j] = own[i * k + col[j]!]!;
          // One encoder of the members' shared size and tokenizer: the cost of one member.
          return { scoring: 'direct', probs, cost: 1 };
        } finally {
          await model.close();
        }
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
    async write(out) {
      await merge(recipe, { out });
    },
  };
}

/** The source `combine` calls in auto mode: no candidates when a merge cannot serve (see mergeBlocker). */
export const mergeCandidates: AutoCandidateSource = async (p) => (mergeBlocker(p) === null ? CANDIDATES.map((c) => candidate(p, c)) : []);
