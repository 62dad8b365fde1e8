import assert from 'node:assert/strict';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { buildBertGraph } from '../../src/graph/bert-model.js';
import { PLAIN_OPS } from '../../src/graph/bert-graph.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { padBatch } from '../../src/runtime/batch.js';
import { GradientSession, type TrainBatch } from '../../src/train/gradient-session.js';
import { buildTrainingGraph } from '../../src/train/training-graph.js';
import { Rng } from '../../src/util/rng.js';
import { fixture } from '../helpers/fixtures.js';

// Whole-model check for every family the training path covers: the training graph's gradient of
// the distillation loss (CE on one labelled row + T²·KL on the others) against central differences
// of the same loss computed here in float64 from the logits of the *inference* graph, which knows
// nothing of the differentiator or of emitLoss. Two elements of every trainable tensor are checked:
// the one with the largest gradient and one drawn at random.

const T = 2;
const texts = [
  { text: 'a gripping , funny and deeply moving film .' },
  { text: 'the plot is thin', text_pair: 'and the acting is worse .' },
  { text: 'dull .' },
];
const soft = [
  [0.3, 0.7],
  [0.9, 0.1],
  [0.45, 0.55],
];

/** The loss as trainer.ts defines it, in float64: mean over rows of h·(−log p) + w·T²·KL(q ‖ p_T). */
function lossOf(logits: Float32Array, batch: TrainBatch): number {
  const k = 2;
  const b = batch.dims[0];
  let total = 0;
  for (let i = 0; i < b; i++) {
    const z = Array.from(logits.subarray(i * k, (i + 1) * k));
    const lse = (v: number[]): number => {
      const m = Math.max(...v);
      return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
    };
    const logp = z.map((x) => x - lse(z));
    const zt = z.map((x) => x / T);
    const logpT = zt.map((x) => x - lse(zt));
    for (let c = 0; c < k; c++) {
      total -= batch.hardTargets[i * k + c]! * logp[c]!;
      const q = batch.softTargets[i * k + c]!;
      if (q > 0) total += batch.kdWeight[i]! * T * T * q * (Math.log(q) - logpT[c]!);
    }
  }
  return total / b;
}

const families = ['roberta-sst2-a', 'xlmr-sst2', 'distilbert-sst2', 'electra-sst2', 'modernbert-sst2', 'modernbert-sst2-mean', 'deberta-sst2'];

for (const name of families) {
  test(`${name}: every trainable tensor's gradient matches central differences of the inference graph's loss`, async () => {
    const ckpt = loadCheckpoint(fixture(`family/${name}`));
    try {
      const graph = buildTrainingGraph(ckpt, { temperature: T });
      // Every tensor of the checkpoint is a trainable input (none folded away, none frozen).
      assert.deepEqual(graph.params.map((p) => p.tensor).sort(), ckpt.tensors.names().filter((n) => !n.endsWith('position_ids')).sort());

      const padded = padBatch(texts.map((t) => ckpt.tokenizer.encode(t)), ckpt.tokenizer.padId);
      const hard = new Float32Array(6);
      hard[1] = 0.5; // row 0 is labelled (class 1, α = 0.5); rows 1, 2 are distillation only
      const batch: TrainBatch = { ...padded, hardTargets: hard, softTargets: Float32Array.from(soft.flat()), kdWeight: Float32Array.of(0.5, 1, 1) };
      const session = await GradientSession.create(graph, { threads: 1 });
      const weights = graph.params.map((p) => Float32Array.from(p.data));
      const res = await session.compute(batch, weights);
      await session.release();

      // The inference graph (plain kernels, same weights), with the trained tensors as inputs.
      const g = buildBertGraph(ckpt, { ops: PLAIN_OPS, unfolded: true });
      for (const p of graph.params) g.promoteToInput(p.input);
      const inf = await ort.InferenceSession.create(encodeModel(g.toModel()), { intraOpNumThreads: 1, logSeverityLevel: 3 });
      const [b, s] = padded.dims;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', padded.inputIds, [b, s]),
        attention_mask: new ort.Tensor('int64', padded.attentionMask, [b, s]),
      };
      if (graph.tokenTypes) feeds['token_type_ids'] = new ort.Tensor('int64', padded.tokenTypeIds, [b, s]);
      const lossAt = async (): Promise<number> => {
        graph.params.forEach((p, i) => (feeds[p.input] = new ort.Tensor('float32', weights[i]!, [...p.dims])));
        return lossOf((await inf.run(feeds))['logits']!.data as Float32Array, batch);
      };
      assert.ok(Math.abs((await lossAt()) - res.loss) < 1e-5, `loss ${res.loss} vs the inference graph's ${await lossAt()}`);

      const rng = new Rng(11);
      const eps = 3e-3;
      let worst = 0;
      let worstAt = '';
      for (let k = 0; k < graph.params.length; k++) {
        const grad = res.grads[k]!;
        const w = weights[k]!;
        let top = 0;
        for (let j = 1; j < grad.length; j++) if (Math.abs(grad[j]!) > Math.abs(grad[top]!)) top = j;
        for (const j of [top, rng.int(grad.length)]) {
          const x0 = w[j]!;
          w[j] = x0 + eps;
          const up = await lossAt();
          w[j] = x0 - eps;
          const down = await lossAt();
          w[j] = x0;
          const fd = (up - down) / (Math.fround(x0 + eps) - Math.fround(x0 - eps));
          const ratio = Math.abs(grad[j]! - fd) / (2e-4 + 2e-2 * Math.abs(fd));
          if (ratio > worst) [worst, worstAt] = [ratio, `${graph.params[k]!.tensor}[${j}]: ${grad[j]} vs fd ${fd}`];
        }
      }
      await inf.release();
      assert.ok(worst <= 1, `worst ${worstAt} (ratio ${worst.toFixed(2)})`);
      if (process.env.GRAD_VERBOSE) console.log(name, graph.params.length, 'tensors; worst', worstAt, worst.toFixed(3));
    } finally {
      ckpt.close();
    }
  });
}
