import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineRecipeFrom } from '../../src/api/combine.js';
import { fusionRecipe } from '../../src/cli/commands/combine.js';
import { COMBINE_DEFAULTS, parseCombineRecipe, withCombineDefaults } from '../../src/recipe/combine.js';

/*
 * One source of combine defaults: a YAML recipe, the library's combine() spec and the CLI's flags
 * that say only members, data and out describe the same recipe; and what they do say passes through
 * each path alike.
 */

const members = ['fixtures/sst2-sibling-a', 'fixtures/sst2-stranger-b'];

test('members, data and out alone: the YAML recipe, combine() and the CLI flags give the same recipe, with the shared defaults', () => {
  const yaml = parseCombineRecipe(`members: [${members.join(', ')}]\ndata: data/sst2_dev.tsv\nout: out/c\n`, 'r.yaml');
  const api = combineRecipeFrom({ members, data: 'data/sst2_dev.tsv', out: 'out/c' });
  const cli = fusionRecipe(members, { data: 'data/sst2_dev.tsv', out: 'out/c' }, 'combine', true);
  assert.deepEqual(api, yaml);
  assert.deepEqual(cli, yaml);
  assert.deepEqual(yaml, { members: members.map((path) => ({ path })), data: { path: 'data/sst2_dev.tsv' }, out: 'out/c', evalData: null, labels: null, labelMap: {}, method: 'auto', options: {}, seed: 0, folds: 5 });
  // Null in a recipe file is the default too.
  assert.deepEqual(parseCombineRecipe(`members: [${members.join(', ')}]\ndata: data/sst2_dev.tsv\nout: out/c\nlabels: null\nlabel_map: null\noptions: null\nseed: null\nfolds: null\neval_data: null\n`, 'r.yaml'), yaml);
});

test('every defaulted field, given: the same recipe from each path', () => {
  const yaml = parseCombineRecipe(
    [`members: [${members.join(', ')}]`, 'data: data/sst2_dev.tsv', 'eval_data: data/sst2_tune.tsv', 'labels: [negative, positive]', 'label_map: { NEG: negative }', 'method: cascade', 'options: { fallback: second }', 'seed: 3', 'folds: 4', 'out: out/c', ''].join('\n'),
    'r.yaml',
  );
  const api = combineRecipeFrom({ members, data: 'data/sst2_dev.tsv', evalData: 'data/sst2_tune.tsv', labels: ['negative', 'positive'], labelMap: { NEG: 'negative' }, method: 'cascade', options: { fallback: 'second' }, seed: 3, folds: 4, out: 'out/c' });
  const cli = fusionRecipe(members, { data: 'data/sst2_dev.tsv', evalData: ['data/sst2_tune.tsv'], labels: 'negative,positive', labelMap: ['NEG=negative'], method: 'cascade', param: ['fallback=second'], seed: 3, folds: 4, out: 'out/c' }, 'combine', true);
  assert.deepEqual(api, yaml);
  assert.deepEqual(cli, yaml);
  for (const key of Object.keys(COMBINE_DEFAULTS) as (keyof typeof COMBINE_DEFAULTS)[]) assert.notDeepEqual(yaml[key], COMBINE_DEFAULTS[key], `${key} was given, not defaulted`);
});

test('defaults are fresh per recipe: changing one recipe\'s options or label map changes no other', () => {
  const a = withCombineDefaults({ members: [], data: { path: 'd' }, out: 'o' });
  (a.options as Record<string, unknown>)['x'] = 1;
  (a.labelMap as Record<string, string>)['A'] = 'b';
  const b = combineRecipeFrom({ members, data: 'd', out: 'o' });
  assert.deepEqual([b.options, b.labelMap, COMBINE_DEFAULTS.options, COMBINE_DEFAULTS.labelMap], [{}, {}, {}, {}]);
});
