import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { TextInput } from '../../src/checkpoint/tokenizer.js';
import { decodeModel } from '../../src/graph/onnx-builder.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { maxAbsDiff } from '../align/helpers.js';
import { familyReference } from '../architectures/family-fixture.js';
import { runCli } from '../helpers/cli.js';
import { fixture, reference, tempDir } from '../helpers/fixtures.js';
import { folderLogits, onnxLogits, readJson } from './helpers.js';

/*
 * `quantize: int8` (merge --quantize int8) on a separate-heads merge: the one multi-task model.onnx
 * gets dynamic int8 encoder layers, as a single model gets them (`predict --quantize int8` builds
 * them from the weights with the same quantizeGraph pass). Each task output must equal what that
 * path gives for the task's folder, and stay within the int8 tolerance the family tests use
 * (max logit error < 0.25, labels agree on all but two inputs) of the float32 model.onnx.
 */

/** The task folder's own graph built with int8 encoder layers: what `predict <folder> --quantize int8` runs. */
const singleInt8Logits = (dir: string, inputs: readonly TextInput[]): Promise<Float32Array> => folderLogits(dir, inputs, { quantize: 'int8' });

function argmaxAgreement(a: Float32Array, b: Float32Array, k: number): number {
  let agree = 0;
  for (let i = 0; i < a.length / k; i++) {
    const row = (x: Float32Array): number => {
      let best = 0;
      for (let j = 1; j < k; j++) if (x[i * k + j]! > x[i * k + best]!) best = j;
      return best;
    };
    if (row(a) === row(b)) agree++;
  }
  return agree;
}

function int8Nodes(file: string): { quantized: number; int8Weights: number } {
  const g = decodeModel(fs.readFileSync(file)).graph!;
  return {
    quantized: (g.node ?? []).filter((n) => n.opType === 'DynamicQuantizeMatMul' || n.opType === 'QAttention').length,
    int8Weights: (g.initializer ?? []).filter((t) => t.dataType === 3).length,
  };
}

test('RoBERTa siblings, separate heads, quantize: int8: each output of the int8 model.onnx = its task folder run int8, and near the float32 model.onnx', async () => {
  const root = tempDir('bertfuse-multitask-int8-');
  const fields = { heads: 'separate', merge_method: 'linear', models: [{ model: fixture('family/roberta-sst2-a'), task: 'a' }, { model: fixture('family/roberta-sst2-b'), task: 'b' }] };
  const fp32 = await merge(parseMergeRecipe(fields, 'test'), { out: path.join(root, 'fp32'), threads: 1 });
  const int8 = await merge(parseMergeRecipe({ ...fields, quantize: 'int8' }, 'test'), { out: path.join(root, 'int8'), threads: 1 });
  assert.equal(fp32.onnxQuantize, null);
  assert.equal(int8.onnxQuantize, 'int8');
  assert.equal(readJson<{ quantize?: string }>(path.join(int8.out, 'bertfuse-merge.json')).quantize, 'int8');
  assert.match(fs.readFileSync(path.join(int8.out, 'merge.yaml'), 'utf8'), /^quantize: int8$/m);
  // The checkpoints stay float and identical; only the graph changes.
  for (const f of int8.files.filter((x) => x.endsWith('.safetensors'))) assert.ok(fs.readFileSync(path.join(int8.out, f)).equals(fs.readFileSync(path.join(fp32.out, f))), f);
  const q = int8Nodes(path.join(int8.out, 'model.onnx'));
  assert.ok(q.quantized >= 4 && q.int8Weights >= 4, JSON.stringify(q));
  assert.deepEqual(int8Nodes(path.join(fp32.out, 'model.onnx')), { quantized: 0, int8Weights: 0 });
  // The encoder's linear weights (4·H² + 2·H·I per layer, float32) shrink to a quarter: at least half of their bytes are gone.
  const cfg = readJson<{ hidden_size: number; intermediate_size: number; num_hidden_layers: number }>(path.join(int8.out, 'a', 'config.json'));
  const linearBytes = cfg.num_hidden_layers * (4 * cfg.hidden_size ** 2 + 2 * cfg.hidden_size * cfg.intermediate_size) * 4;
  const saved = fs.statSync(path.join(fp32.out, 'model.onnx')).size - fs.statSync(path.join(int8.out, 'model.onnx')).size;
  assert.ok(saved > 0.5 * linearBytes, `int8 saved ${saved} bytes of ${linearBytes}`);

  const inputs = familyReference('roberta-sst2-a').inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
  for (const t of int8.tasks) {
    const folder = path.join(int8.out, t.folder);
    const got = await onnxLogits(path.join(int8.out, 'model.onnx'), folder, t.output, inputs);
    const single = await singleInt8Logits(folder, inputs);
    assert.ok(maxAbsDiff(got, single) <= 1e-4, `${t.output}: multi-task int8 vs the task folder's int8 ${maxAbsDiff(got, single)}`);
    const float = await onnxLogits(path.join(fp32.out, 'model.onnx'), path.join(fp32.out, t.folder), t.output, inputs);
    const err = maxAbsDiff(got, float);
    assert.ok(err > 1e-6 && err < 0.25, `${t.output}: int8 max logit error ${err}`);
    assert.ok(argmaxAgreement(got, float, 2) >= inputs.length - 2, `${t.output}: labels agree on ${argmaxAgreement(got, float, 2)}/${inputs.length}`);
  }
});

test('merge --quantize int8 (CLI): a multi-task BERT merge (different label sets) writes the int8 model.onnx and says so; bad values are one line', async () => {
  const out = path.join(tempDir('bertfuse-multitask-int8-cli-'), 'tasks');
  const r = await runCli(['merge', fixture('sst2-sibling-a'), fixture('subj-sibling'), '--quantize', 'int8', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^merged 2 models with linear into .*, model\.onnx \(int8\);/);
  assert.match(r.stdout, /logits_sst2_sibling_a/);
  const sst2 = reference('sst2-sibling-a').inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
  const task = path.join(out, 'sst2_sibling_a');
  const got = await onnxLogits(path.join(out, 'model.onnx'), task, 'logits_sst2_sibling_a', sst2);
  assert.ok(maxAbsDiff(got, await singleInt8Logits(task, sst2)) <= 1e-4);
  assert.ok(int8Nodes(path.join(out, 'model.onnx')).quantized > 0);
  for (const [args, pattern] of [
    [['--quantize', 'int4'], /"quantize" must be int8, got "int4"/],
    [['--quantize', 'int8', '--no-onnx'], /"quantize: int8" quantises model\.onnx; it needs onnx: true/],
  ] as const) {
    const bad = await runCli(['merge', fixture('sst2-sibling-a'), fixture('subj-sibling'), ...args, '--out', path.join(out, '..', 'bad')]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr.trim(), pattern);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  }
});
