import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import type { DropoutKind } from '../../src/architectures/types.js';
import { maskDims, type DropoutRates } from '../../src/train/dropout.js';
import { GradientSession } from '../../src/train/gradient-session.js';
import { buildTrainingGraph, toCheckpointLayout } from '../../src/train/training-graph.js';
import { fixture } from '../helpers/fixtures.js';
import { compareGradients, referenceBatch, type GradReference } from './grad-reference-check.js';

// PyTorch's gradients for every non-BERT family (fixtures/family/grad-reference, made by
// scripts/family-grad-reference.py from an independent torch forward of each family): the training
// graph's gradient of both losses, for every parameter, within 1e-4 absolute (1e-3 relative on
// large entries). The batch's ids are in the reference (bertfuse's tokenizer made them), so the
// test needs no torch. The same batch in training mode, with masks both sides compute from one
// rule, pins down where each family drops out: the kinds and shapes of the points in order, and
// the logits, losses and every tensor's gradient norm under those masks.

interface FamilyReference extends GradReference {
  model: string;
  sparse_rows: { tensor: string; rows: number[] };
  dropout: {
    rates: DropoutRates;
    points: Array<{ kind: DropoutKind; shape: number[] }>;
    logits: number[][];
    losses: { ce: number; kd: number };
    tensor_grad_norms: { ce: Record<string, number>; kd: Record<string, number> };
  };
}

/** The reference's mask rule (scripts/family-grad-reference.py mask_unit): u in [0, 1) for element j of mask k, a 32-bit hash. */
function maskUnit(k: number, j: number): number {
  let h = (Math.imul(j, 0x9e3779b1) + Math.imul(k + 1, 0x85ebca77)) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 2 ** 32;
}

function knownMask(k: number, n: number, rate: number): Float32Array {
  const keep = 1 / (1 - rate);
  return Float32Array.from({ length: n }, (_, j) => (maskUnit(k, j) < rate ? 0 : keep));
}

const dir = fixture('family/grad-reference');
const families = ['distilbert-sst2', 'roberta-sst2-a', 'xlmr-sst2', 'electra-sst2', 'modernbert-sst2', 'modernbert-sst2-mean', 'deberta-sst2'];

for (const name of families) {
  test(`${name}: gradients of both losses equal PyTorch's for every parameter`, async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as FamilyReference;
    assert.equal(ref.model, name);
    const ckpt = loadCheckpoint(fixture(`family/${name}`));
    const expected = SafetensorsFile.open(path.join(dir, `${name}.safetensors`));
    try {
      const graph = buildTrainingGraph(ckpt, { temperature: ref.losses.kd.T });
      const session = await GradientSession.create(graph, { threads: 1 });
      const report: string[] = [];
      for (const loss of ['ce', 'kd'] as const) {
        const res = await session.compute(referenceBatch(ref, loss), graph.params.map((p) => p.data));
        assert.ok(Math.abs(res.loss - ref.losses[loss].value) < 1e-5, `${loss} loss ${res.loss} vs ${ref.losses[loss].value}`);
        ref.logits.flat().forEach((z, i) => assert.ok(Math.abs(res.logits[i]! - z) < 1e-4, `logit ${i}: ${res.logits[i]} vs ${z}`));
        const c = compareGradients(graph.params, res.grads, (t) => ({
          data: expected.read(`${loss}.${t}`).data,
          ...(t === ref.sparse_rows.tensor ? { rows: ref.sparse_rows.rows } : {}),
        }));
        // Every tensor of the checkpoint has a gradient, and the reference has every one of them.
        assert.deepEqual([...c.tensors].sort(), ckpt.tensors.names().sort());
        assert.equal(expected.names().filter((n) => n.startsWith(`${loss}.`)).length, c.tensors.length);
        assert.ok(Math.abs(c.norm - ref.grad_norms[loss]) < 1e-4 * ref.grad_norms[loss], `${loss} global norm ${c.norm} vs ${ref.grad_norms[loss]}`);
        report.push(`${loss} max |Δ| ${c.worstAbs.toExponential(2)} (norm ${c.norm.toFixed(4)})`);
      }
      await session.release();
      if (process.env.GRAD_VERBOSE) console.log(`${name}: ${graph.params.length} tensors; ${report.join('; ')}`);
    } finally {
      expected.close();
      ckpt.close();
    }
  });
}

for (const name of families) {
  test(`${name}: dropout sits where Hugging Face's class has it (PyTorch with the same masks)`, async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as FamilyReference;
    const d = ref.dropout;
    const ckpt = loadCheckpoint(fixture(`family/${name}`));
    try {
      const graph = buildTrainingGraph(ckpt, { temperature: ref.losses.kd.T, dropout: d.rates });
      const [b, s] = [ref.input_ids.length, ref.input_ids[0]!.length];
      // The points, in the order of the forward pass: kind and shape each.
      assert.deepEqual(graph.dropout.map((m) => ({ kind: m.kind, shape: maskDims(m, b, s) })), d.points);
      const masks = graph.dropout.map((m, k) => knownMask(k, maskDims(m, b, s).reduce((x, y) => x * y, 1), m.rate));
      const session = await GradientSession.create(graph, { threads: 1 });
      let worst = 0;
      for (const loss of ['ce', 'kd'] as const) {
        const res = await session.compute(referenceBatch(ref, loss), graph.params.map((p) => p.data), masks);
        assert.ok(Math.abs(res.loss - d.losses[loss]) < 1e-5, `${loss} loss ${res.loss} vs PyTorch ${d.losses[loss]}`);
        d.logits.flat().forEach((z, i) => assert.ok(Math.abs(res.logits[i]! - z) < 1e-4, `logit ${i}: ${res.logits[i]} vs ${z}`));
        graph.params.forEach((p, k) => {
          const g = toCheckpointLayout(p, res.grads[k]!);
          const norm = Math.sqrt(g.reduce((acc, v) => acc + v * v, 0));
          const want = d.tensor_grad_norms[loss][p.tensor]!;
          worst = Math.max(worst, Math.abs(norm - want));
          assert.ok(Math.abs(norm - want) <= 1e-5 + 1e-4 * want, `${loss} ${p.tensor}: gradient norm ${norm} vs PyTorch ${want}`);
        });
      }
      await session.release();
      if (process.env.GRAD_VERBOSE) console.log(`${name}: ${graph.dropout.length} dropout points; max |Δ| of tensor gradient norms ${worst.toExponential(2)}`);
    } finally {
      ckpt.close();
    }
  });
}
