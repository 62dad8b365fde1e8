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

// PyTorch's gradients for every non-BERT family (fixtures/family/grad-reference, made by
// scripts/family-grad-reference.py from an independent torch forward of each family): the training
// graph's gradient of both losses, for every parameter, within 1e-4 absolute (1e-3 relative on
// large entries). The batch's ids are in the reference (bertfuse's tokenizer made them), so the
// test needs no torch. With dropout: dropout-grad-reference.test.ts.

interface FamilyReference extends GradReference {
  model: string;
  sparse_rows: { tensor: string; rows: number[] };
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
