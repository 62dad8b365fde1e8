import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { GradientSession } from '../../src/train/gradient-session.js';
import { buildTrainingGraph } from '../../src/train/training-graph.js';
import { fixture } from '../helpers/fixtures.js';
import { compareGradients, referenceBatch, type GradReference } from './grad-reference-check.js';

// PyTorch's gradients of two losses for sst2-sibling-a on one fixed batch (fixtures/grad-reference):
// every parameter's gradient must match within 1e-4 absolute, or 1e-3 relative on large entries.

const dir = fixture('grad-reference');
const ref = JSON.parse(fs.readFileSync(path.join(dir, 'grad-reference.json'), 'utf8')) as GradReference;

for (const loss of ['ce', 'kd'] as const) {
  test(`gradients of the ${loss} loss equal PyTorch's for every parameter`, async () => {
    const ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
    const expected = SafetensorsFile.open(path.join(dir, 'grad-reference.safetensors'));
    try {
      const graph = buildTrainingGraph(ckpt, { temperature: ref.losses.kd.T });
      const session = await GradientSession.create(graph, { threads: 1 });
      const res = await session.compute(referenceBatch(ref, loss), graph.params.map((p) => p.data));
      await session.release();

      assert.ok(Math.abs(res.loss - ref.losses[loss].value) < 1e-5, `loss ${res.loss} vs ${ref.losses[loss].value}`);
      ref.logits.flat().forEach((z, i) => assert.ok(Math.abs(res.logits[i]! - z) < 1e-4, `logit ${i}`));

      const c = compareGradients(graph.params, res.grads, (t) => ({ data: expected.read(`${loss}.${t}`).data }));
      // Every parameter of the checkpoint is trained, none is missed.
      assert.deepEqual([...c.tensors].sort(), ckpt.tensors.names().filter((n) => !n.endsWith('position_ids')).sort());
      assert.ok(Math.abs(c.norm - ref.grad_norms[loss]) < 1e-4 * ref.grad_norms[loss], `global norm ${c.norm}`);
      if (process.env.GRAD_VERBOSE) console.log(`${loss}: ${c.tensors.length} tensors, max |Δ| ${c.worstAbs.toExponential(2)}, norm ${c.norm}`);
    } finally {
      expected.close();
      ckpt.close();
    }
  });
}
