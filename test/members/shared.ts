// Shared by the fusion tests (members, combined graph, artifact, eval): bundled data and a tiny
// fusion method written independently of src/fusion, so the composition can be checked on its own.
import fs from 'node:fs';
import path from 'node:path';
import type { TextInput } from '../../src/checkpoint/tokenizer.js';
import type { FusionMethod, MemberOutputs } from '../../src/fusion/types.js';
import { attr } from '../../src/graph/onnx-builder.js';
import { DATA } from '../helpers/fixtures.js';

export interface Sst2Rows {
  readonly inputs: TextInput[];
  /** Gold label names. */
  readonly gold: string[];
}

/** data/sst2_dev.tsv read by hand (label 0 = negative, 1 = positive, per fixtures/README.md). */
export function readSst2Dev(limit = Infinity): Sst2Rows {
  const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(1).filter((l) => l !== '');
  const rows = lines.slice(0, limit).map((l) => l.split('\t') as [string, string]);
  return { inputs: rows.map(([, text]) => ({ text })), gold: rows.map(([label]) => (label === '1' ? 'positive' : 'negative')) };
}

/** Mean of the members' probabilities with fixed per-member weights, computed plainly in float64. */
export function probsOf(logits: ArrayLike<number>, row: number, k: number): number[] {
  const l = Array.from({ length: k }, (_, j) => logits[row * k + j]!);
  const m = Math.max(...l);
  const e = l.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

type WeightsParams = { readonly weights: readonly number[] };

/** A weighted probability mean: enough to exercise composition, alignment and the artifact. */
export const testWeightedMean: FusionMethod<WeightsParams> = {
  name: 'test-weighted-mean',
  summary: 'weighted mean of member probabilities (test only)',
  options: [],
  fit(outputs: MemberOutputs): WeightsParams {
    const m = outputs.members.length;
    return { weights: Array.from({ length: m }, (_, i) => (i + 1) / ((m * (m + 1)) / 2)) };
  },
  apply(outputs, params) {
    const { n, k } = outputs;
    const out = new Float64Array(n * k);
    outputs.members.forEach((mem, i) => {
      for (let r = 0; r < n; r++) {
        const p = probsOf(mem.logits, r, k);
        for (let j = 0; j < k; j++) out[r * k + j] += params.weights[i]! * p[j]!;
      }
    });
    return out;
  },
  emit(g, inputs, params) {
    let acc: string | null = null;
    inputs.logits.forEach((l, i) => {
      const p = g.op('Softmax', [l], { axis: attr.int(1) });
      const w = g.op('Mul', [p, g.scalarFloat(params.weights[i]!, 'w')]);
      acc = acc === null ? w : g.op('Add', [acc, w]);
    });
    return g.op('Log', [acc!]);
  },
};
