import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import type { DropoutKind } from '../../src/architectures/types.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { dropoutRates, maskDims, masksDigest, stepMasks, type DropoutRates } from '../../src/train/dropout.js';
import { GradientSession } from '../../src/train/gradient-session.js';
import { buildTrainingGraph } from '../../src/train/training-graph.js';
import { fixture } from '../helpers/fixtures.js';
import { compareGradients, referenceBatch, type GradReference } from './grad-reference-check.js';

// PyTorch's gradients WITH dropout, for BERT and every other family (<reference>.dropout.json +
// .safetensors, made by scripts/family-grad-reference.py): its independent torch forward drops out
// where Hugging Face's class does, multiplying in the very masks bertfuse's trainer draws at one
// step of a seeded run (scripts/dropout-masks.ts exported them). The test draws them again from the
// seed (the digest proves they are the same), and the training graph's gradient of both losses must
// match every element of every parameter within 1e-4 absolute (1e-3 relative on large entries), as
// without dropout: a point misplaced, missing or extra, or a mask read in another layout, fails.

interface DropoutReference extends GradReference {
  model: string;
  seed: number;
  step: number;
  rates: DropoutRates;
  points: Array<{ kind: DropoutKind; shape: number[] }>;
  masks_sha256: string;
  sparse_rows: { tensor: string; rows: number[] };
}

const cases: Array<{ model: string; reference: string }> = [
  { model: 'sst2-sibling-a', reference: 'grad-reference/grad-reference.dropout' },
  ...['distilbert-sst2', 'roberta-sst2-a', 'xlmr-sst2', 'electra-sst2', 'modernbert-sst2', 'modernbert-sst2-mean', 'deberta-sst2'].map((name) => ({
    model: `family/${name}`,
    reference: `family/grad-reference/${name}.dropout`,
  })),
];

for (const { model, reference } of cases) {
  test(`${model} with dropout: gradients of both losses equal PyTorch's under the masks bertfuse draws, every element`, async () => {
    const ref = JSON.parse(fs.readFileSync(fixture(`${reference}.json`), 'utf8')) as DropoutReference;
    assert.ok(model.endsWith(ref.model), `${reference} is for ${ref.model}`);
    const ckpt = loadCheckpoint(fixture(model));
    const expected = SafetensorsFile.open(fixture(`${reference}.safetensors`));
    try {
      // The rates PyTorch read from config.json as HF does are the ones bertfuse reads (DeBERTa's
      // pooler_dropout is 0 in the fixture; the reference sets 0.1 to have that point too).
      const own = dropoutRates(ckpt.config);
      assert.deepEqual(own.pooler === 0 ? { ...own, pooler: 0.1 } : own, ref.rates);
      const graph = buildTrainingGraph(ckpt, { temperature: ref.losses.kd.T, dropout: ref.rates });
      const [b, s] = [ref.input_ids.length, ref.input_ids[0]!.length];
      // The points, in the graph's order: the kind and shape PyTorch's forward asked for at each.
      assert.deepEqual(graph.dropout.map((m) => ({ kind: m.kind, shape: maskDims(m, b, s) })), ref.points);
      const masks = stepMasks(graph.dropout, b, s, ref.seed, ref.step);
      assert.equal(masksDigest(masks), ref.masks_sha256, 'the masks drawn from the seed are not the ones PyTorch used');
      const session = await GradientSession.create(graph, { threads: 1 });
      const report: string[] = [];
      for (const loss of ['ce', 'kd'] as const) {
        const res = await session.compute(referenceBatch(ref, loss), graph.params.map((p) => p.data), masks);
        assert.ok(Math.abs(res.loss - ref.losses[loss].value) < 1e-5, `${loss} loss ${res.loss} vs PyTorch ${ref.losses[loss].value}`);
        ref.logits.flat().forEach((z, i) => assert.ok(Math.abs(res.logits[i]! - z) < 1e-4, `logit ${i}: ${res.logits[i]} vs ${z}`));
        const c = compareGradients(graph.params, res.grads, (t) => ({
          data: expected.read(`${loss}.${t}`).data,
          ...(t === ref.sparse_rows.tensor ? { rows: ref.sparse_rows.rows } : {}),
        }));
        // Every parameter has a gradient, and the reference has every one of them.
        assert.deepEqual([...c.tensors].sort(), ckpt.tensors.names().filter((n) => !n.endsWith('position_ids')).sort());
        assert.equal(expected.names().filter((n) => n.startsWith(`${loss}.`)).length, c.tensors.length);
        assert.ok(Math.abs(c.norm - ref.grad_norms[loss]) < 1e-4 * ref.grad_norms[loss], `${loss} global norm ${c.norm} vs ${ref.grad_norms[loss]}`);
        report.push(`${loss} max |Δ| ${c.worstAbs.toExponential(2)}`);
      }
      await session.release();
      if (process.env.GRAD_VERBOSE) console.log(`${model}: ${graph.dropout.length} dropout points; ${report.join('; ')}`);
    } finally {
      expected.close();
      ckpt.close();
    }
  });
}
