import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { resolveParams } from '../../src/merge/params.js';
import { mergeMethod } from '../../src/merge/registry.js';
import { loadMergeRecipe, mergeRecipeToYaml, parseMergeRecipe, parseSize } from '../../src/recipe/merge.js';
import YAML from 'yaml';
import { tempDir } from '../helpers/fixtures.js';

const dir = tempDir('bertfuse-merge-recipe-');

const TIES_YAML = `
merge_method: ties
base_model: fixtures/base-mlm
models:
  - model: fixtures/sst2-sibling-a
    parameters:
      weight: 0.7
      density:
        - filter: classifier
          value: 1
        - value: 0.4
  - model: fixtures/sst2-sibling-b
parameters:
  density: 0.6
  lambda: 1.2
  weight: 0.3
dtype: bfloat16
seed: 7
shard_size: 1.5GiB
`;

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

test('a mergekit-style YAML recipe: per-model and global parameters, filter lists, defaults', () => {
  const r = loadMergeRecipe(write('ties.yaml', TIES_YAML));
  assert.equal(r.mergeMethod, 'ties');
  assert.equal(r.baseModel, 'fixtures/base-mlm');
  assert.equal(r.dtype, 'bfloat16');
  assert.equal(r.seed, 7);
  assert.equal(r.shardSize, Math.floor(1.5 * 1024 ** 3));
  assert.equal(r.align, 'none');
  assert.equal(r.heads, 'auto');
  const ties = mergeMethod('ties');
  const at = (tensor: string) => resolveParams(ties, r.parameters, r.models.map((m) => m.parameters), tensor);
  // Model 1's own list: the classifier keeps everything, other tensors 0.4; model 2 inherits the global 0.6.
  assert.deepEqual(at('classifier.weight').modelParams, [{ weight: 0.7, density: 1 }, { weight: 0.3, density: 0.6 }]);
  assert.deepEqual(at('bert.encoder.layer.0.output.dense.weight').modelParams, [{ weight: 0.7, density: 0.4 }, { weight: 0.3, density: 0.6 }]);
  assert.deepEqual(at('classifier.weight').params, { lambda: 1.2, normalize: true, rescale: false, int8_mask: false });
});

test('the recipe written next to a merge parses back to the same recipe', () => {
  const r = loadMergeRecipe(write('ties2.yaml', TIES_YAML));
  const again = parseMergeRecipe(YAML.parse(mergeRecipeToYaml(r)));
  assert.deepEqual(again, r);
  const withTexts = parseMergeRecipe({ merge_method: 'regmean', models: ['a', 'b'], texts: ['x.txt', 'y.txt'], texts_encoding: 'latin1', max_texts: 100, align: 'activations', heads: 'separate' });
  assert.deepEqual(parseMergeRecipe(YAML.parse(mergeRecipeToYaml(withTexts))), withTexts);
});

test('unknown methods, parameters and keys are refused with the known ones listed', () => {
  const bad = (raw: unknown, pattern: RegExp) => assert.throws(() => parseMergeRecipe(raw, 'r.yaml'), (e: Error & { code?: string }) => e.code === 'E_BAD_RECIPE' && pattern.test(e.message));
  bad({ merge_method: 'soup', models: ['a'] }, /r\.yaml: unknown merge_method "soup" \(known: linear, slerp, nuslerp, task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs/);
  bad({ merge_method: 'linear', models: ['a'], parameters: { density: 0.5 } }, /linear has no parameter "density" \(known: weight \(per model or global\), normalize \(global\)\)/);
  bad({ merge_method: 'ties', base_model: 'b', models: [{ model: 'a', parameters: { lambda: 2 } }] }, /models\[0\]\.parameters: "lambda" is a global parameter of ties/);
  bad({ merge_method: 'ties', base_model: 'b', models: ['a'], parameters: { density: 1.5 } }, /"density" = 1\.5 is outside \[0, 1\]/);
  bad({ merge_method: 'linear', models: ['a'], parameters: { normalize: 'yes' } }, /"normalize" must be true or false, got "yes"/);
  bad({ merge_method: 'linear', models: ['a'], parameters: { normalize: { x: 1 } } }, /parameters\.normalize must be a number, true\/false, a list of numbers/);
  bad({ merge_method: 'linear', models: ['a'], parameters: { normalize: 1 } }, /"normalize" must be true or false, got 1/);
  bad({ merge_method: 'linear', models: ['a'], parameters: { normalize: [0, 1] } }, /"normalize" takes one value, not a layer gradient/);
  bad({ merge_method: 'linear', models: ['a'], parameters: { weight: [0, { value: 1 }] } }, /weight\[0\] must be \{filter, value\}/);
  bad({ merge_method: 'linear', slices: [], models: ['a'] }, /give "models" or "slices", not both/);
  bad({ merge_method: 'linear', slices: [{ sources: [{ model: 'a', layer_range: [0, 2] }] }, { sources: [{ model: 'b', layer_range: [0, 2] }] }] }, /one slice of whole models/);
  bad({ merge_method: 'linear', slices: [{ sources: [{ model: 'a', layer_range: [1, 2] }] }] }, /layer_range must be \[0, <number of layers>\]/);
  bad({ merge_method: 'linear', models: ['a'], colour: 'red' }, /unknown key "colour" \(known: merge_method, base_model, models/);
  bad({ merge_method: 'slerp', models: ['a', 'b', 'c'] }, /slerp needs exactly 2 models, the recipe lists 3/);
  bad({ merge_method: 'slerp', base_model: 'c', models: ['a', 'b'], parameters: { t: 0.5 } }, /slerp's base_model must be one of its 2 models/);
  bad({ merge_method: 'slerp', models: ['a', 'b'] }, /slerp needs "t" \(under parameters\)/);
  bad({ merge_method: 'nuslerp', base_model: 'a', models: ['a', 'b'] }, /nuslerp's base_model cannot also be one of the models/);
  bad({ merge_method: 'task_arithmetic', models: ['a'] }, /task_arithmetic needs a base_model/);
  bad({ merge_method: 'regmean', models: ['a', 'b'] }, /regmean runs the members on unlabelled texts: give "texts"/);
  bad({ merge_method: 'linear', align: 'activations', models: ['a', 'b'] }, /align: activations .* give "texts"/);
  bad({ merge_method: 'linear', align: 'neurons', models: ['a'] }, /"align" must be one of none, weights, activations/);
  bad({ merge_method: 'linear', dtype: 'int8', models: ['a'] }, /"dtype" must be one of float32, float16, bfloat16/);
  bad({ merge_method: 'linear', models: [{ model: 'a', task: 'sst-2' }] }, /task must be a name of letters, digits and _/);
  bad({ merge_method: 'linear', models: [{ model: 'a', task: 'x' }, { model: 'b', task: 'x' }] }, /two models use task name "x"/);
  bad({ merge_method: 'linear', models: [] }, /"models" must be a non-empty list/);
  bad({ merge_method: 'linear', models: ['a'], tokenizer_source: 'elsewhere' }, /"tokenizer_source" must be base, union or one of the recipe's models/);
  bad({ merge_method: 'linear', models: ['a'], rescale: true }, /unknown key "rescale"/);
  bad({ merge_method: 'dare_ties', base_model: 'b', models: ['a'], parameters: { rescale: 'l2' } }, /"rescale" must be one of true, false, l1, density, got "l2"/);
  bad(['not', 'a', 'mapping'], /a recipe must be a mapping/);
});

test('mergekit rules: weights are required in recipe files (flags and code default them to 1), slerp puts base_model first', () => {
  assert.throws(() => loadMergeRecipe(write('noweight.yaml', 'merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 2}\n  - model: b\n')), /noweight\.yaml: linear needs "weight" for models\[1\]/);
  const ok = loadMergeRecipe(write('weights.yaml', 'merge_method: linear\nmodels: [a, b]\nparameters: {weight: 1}\n'));
  assert.deepEqual(ok.parameters, { weight: 1 });
  assert.deepEqual(parseMergeRecipe({ merge_method: 'linear', models: ['a', 'b'] }).parameters, { weight: 1 });
  const s = parseMergeRecipe({ merge_method: 'slerp', base_model: 'b', models: ['a', 'b'], parameters: { t: 0.2 } });
  assert.deepEqual(s.models.map((m) => m.model), ['b', 'a']);
  const added = parseMergeRecipe({ merge_method: 'slerp', base_model: 'b', models: ['a'], parameters: { t: 0.2 } });
  assert.deepEqual(added.models.map((m) => m.model), ['b', 'a']);
  // The slices form of whole models is the models form.
  const sl = parseMergeRecipe({ merge_method: 'linear', slices: [{ sources: [{ model: 'a', layer_range: [0, 2] }, { model: 'b', layer_range: [0, 2], parameters: { weight: 2 } }] }] });
  assert.deepEqual(sl.models.map((m) => [m.model, m.layerRange, m.parameters]), [['a', [0, 2], {}], ['b', [0, 2], { weight: 2 }]]);
});

test('invalid YAML and missing files are one-line errors naming the file', () => {
  assert.throws(() => loadMergeRecipe(write('broken.yaml', 'merge_method: [linear\nmodels: a')), (e: Error & { code?: string }) => e.code === 'E_BAD_RECIPE' && /broken\.yaml: invalid YAML/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => loadMergeRecipe(path.join(dir, 'nope.yaml')), /nope\.yaml: cannot read recipe/);
});

test('sizes', () => {
  assert.equal(parseSize('2GB', 'x', undefined), 2e9);
  assert.equal(parseSize('500 MiB', 'x', undefined), 500 * 1024 ** 2);
  assert.equal(parseSize(1234, 'x', undefined), 1234);
  assert.throws(() => parseSize('lots', 'shard_size', 'r.yaml'), /"shard_size" must be a size/);
});
