import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { GradientSession, type TrainBatch } from '../../src/train/gradient-session.js';
import { buildTrainingGraph, toCheckpointLayout } from '../../src/train/training-graph.js';
import { fixture } from '../helpers/fixtures.js';

// PyTorch's gradients of two losses for sst2-sibling-a on one fixed batch (fixtures/grad-reference):
// every parameter's gradient must match within 1e-4 absolute, or 1e-3 relative on large entries.
interface Reference {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  labels: number[];
  losses: { ce: { value: number }; kd: { value: number; T: number; soft_targets: number[][] } };
  logits: number[][];
  grad_norms: { ce: number; kd: number };
}

const dir = fixture('grad-reference');
const ref = JSON.parse(fs.readFileSync(path.join(dir, 'grad-reference.json'), 'utf8')) as Reference;

function batch(loss: 'ce' | 'kd'): TrainBatch {
  const b = ref.input_ids.length;
  const s = ref.input_ids[0]!.length;
  const flat = (rows: number[][]): BigInt64Array => BigInt64Array.from(rows.flat().map((v) => BigInt(v)));
  const hard = new Float32Array(b * 2);
  if (loss === 'ce') ref.labels.forEach((y, i) => (hard[i * 2 + y] = 1));
  return {
    inputIds: flat(ref.input_ids),
    attentionMask: flat(ref.attention_mask),
    tokenTypeIds: flat(ref.token_type_ids),
    dims: [b, s],
    hardTargets: hard,
    softTargets: Float32Array.from(ref.losses.kd.soft_targets.flat()),
    kdWeight: new Float32Array(b).fill(loss === 'kd' ? 1 : 0),
  };
}

for (const loss of ['ce', 'kd'] as const) {
  test(`gradients of the ${loss} loss equal PyTorch's for every parameter`, async () => {
    const ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
    const expected = SafetensorsFile.open(path.join(dir, 'grad-reference.safetensors'));
    try {
      const graph = buildTrainingGraph(ckpt, { temperature: ref.losses.kd.T });
      const session = await GradientSession.create(graph, { threads: 1 });
      const res = await session.compute(batch(loss), graph.params.map((p) => p.data));
      await session.release();

      assert.ok(Math.abs(res.loss - ref.losses[loss].value) < 1e-5, `loss ${res.loss} vs ${ref.losses[loss].value}`);
      ref.logits.flat().forEach((z, i) => assert.ok(Math.abs(res.logits[i]! - z) < 1e-4, `logit ${i}`));

      const covered = new Set<string>();
      let worstAbs = 0;
      let sq = 0;
      graph.params.forEach((p, k) => {
        const got = toCheckpointLayout(p, res.grads[k]!);
        const want = expected.read(`${loss}.${p.tensor}`);
        assert.equal(got.length, want.data.length, p.tensor);
        for (let i = 0; i < got.length; i++) {
          const err = Math.abs(got[i]! - want.data[i]!);
          worstAbs = Math.max(worstAbs, err);
          sq += got[i]! * got[i]!;
          if (err > 1e-4 && err > 1e-3 * Math.abs(want.data[i]!)) assert.fail(`${p.tensor}[${i}]: ${got[i]} vs PyTorch ${want.data[i]}`);
        }
        covered.add(p.tensor);
      });
      // Every parameter of the checkpoint is trained, none is missed.
      assert.deepEqual([...covered].sort(), ckpt.tensors.names().filter((n) => !n.endsWith('position_ids')).sort());
      assert.ok(Math.abs(Math.sqrt(sq) - ref.grad_norms[loss]) < 1e-4 * ref.grad_norms[loss], `global norm ${Math.sqrt(sq)}`);
      if (process.env.GRAD_VERBOSE) console.log(`${loss}: ${covered.size} tensors, max |Δ| ${worstAbs.toExponential(2)}, norm ${Math.sqrt(sq)}`);
    } finally {
      expected.close();
      ckpt.close();
    }
  });
}
