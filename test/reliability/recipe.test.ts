import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { combine } from '../../src/artifact/combine.js';
import type { ErrorCode } from '../../src/errors.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { merge } from '../../src/merge/merge.js';
import { readCombineRecipe } from '../../src/recipe/combine.js';
import { loadMergeRecipe } from '../../src/recipe/merge.js';
import { assertNoOutput, expectRefused } from '../helpers/corrupt.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { smallTsv } from './artifacts.js';
import { knownIssue } from './known-issues.js';

const root = tempDir('bertfuse-rel-recipe-');
const data = smallTsv(root, 24);
let n = 0;

type Raw = Record<string, unknown>;

interface RecipeCase {
  readonly name: string;
  /** Edits a good recipe object; or returns the raw file text to write instead. */
  readonly edit: (r: Raw) => void | string;
  readonly code: ErrorCode;
  readonly pattern: RegExp;
}

function goodMerge(): Raw {
  return {
    merge_method: 'ties',
    base_model: fixture('base-mlm'),
    models: [
      { model: fixture('sst2-sibling-a'), parameters: { weight: 0.5, density: 0.5 } },
      { model: fixture('sst2-sibling-b'), parameters: { weight: 0.5, density: 0.5 } },
    ],
    parameters: { lambda: 1 },
    seed: 3,
    onnx: false,
  };
}

const models = (r: Raw): Raw[] => r['models'] as Raw[];
const params0 = (r: Raw): Raw => models(r)[0]!['parameters'] as Raw;

const MERGE_CASES: readonly RecipeCase[] = [
  { name: 'not YAML', edit: () => 'merge_method: ties\nmodels: [unclosed\n', code: 'E_BAD_RECIPE', pattern: /invalid YAML/ },
  { name: 'a list, not a mapping', edit: () => '- ties\n- linear\n', code: 'E_BAD_RECIPE', pattern: /a recipe must be a mapping/ },
  { name: 'empty file', edit: () => '', code: 'E_BAD_RECIPE', pattern: /a recipe must be a mapping/ },
  { name: 'unknown top-level key', edit: (r) => void (r['passthrough'] = []), code: 'E_BAD_RECIPE', pattern: /unknown key "passthrough"/ },
  { name: 'slices that stack layers', edit: (r) => void ((r['slices'] = [{ sources: [{ model: 'a', layer_range: [0, 1] }] }, { sources: [{ model: 'b', layer_range: [1, 2] }] }]), delete r['models']), code: 'E_BAD_RECIPE', pattern: /one slice of whole models \(layer stacking is not\)/ },
  { name: 'merge_method missing', edit: (r) => void delete r['merge_method'], code: 'E_BAD_RECIPE', pattern: /missing "merge_method"/ },
  { name: 'unknown merge method', edit: (r) => void (r['merge_method'] = 'frankenmerge'), code: 'E_BAD_RECIPE', pattern: /frankenmerge.*(linear|ties)/ },
  { name: 'merge_method is a number', edit: (r) => void (r['merge_method'] = 7), code: 'E_BAD_RECIPE', pattern: /missing "merge_method"|merge_method/ },
  { name: 'models empty', edit: (r) => void (r['models'] = []), code: 'E_BAD_RECIPE', pattern: /"models" must be a non-empty list/ },
  { name: 'a model entry is a number', edit: (r) => void (models(r)[1] = 42 as unknown as Raw), code: 'E_BAD_RECIPE', pattern: /models\[1\] must be \{model: <path>/ },
  { name: 'unknown key in a model entry', edit: (r) => void (models(r)[0]!['weights'] = 0.5), code: 'E_BAD_RECIPE', pattern: /models\[0\]: unknown key "weights"/ },
  { name: 'weight is a string', edit: (r) => void (params0(r)['weight'] = 'half'), code: 'E_BAD_RECIPE', pattern: /weight/ },
  { name: 'density above 1', edit: (r) => void (params0(r)['density'] = 1.5), code: 'E_BAD_RECIPE', pattern: /density.*1\.5|1\.5.*density/ },
  { name: 'density negative', edit: (r) => void (params0(r)['density'] = -0.1), code: 'E_BAD_RECIPE', pattern: /density/ },
  { name: 'normalize is a layer gradient', edit: (r) => void ((r['parameters'] as Raw)['normalize'] = [0, 1]), code: 'E_BAD_RECIPE', pattern: /"normalize" takes one value, not a layer gradient/ },
  { name: 'a layer gradient outside the range', edit: (r) => void (params0(r)['density'] = [0.1, 1.5]), code: 'E_BAD_RECIPE', pattern: /"density" = 1\.5 is outside \[0, 1\]/ },
  { name: 'unknown parameter for the method', edit: (r) => void ((r['parameters'] as Raw)['temperature'] = 2), code: 'E_BAD_RECIPE', pattern: /temperature/ },
  { name: 'a filtered value without a number', edit: (r) => void ((r['parameters'] as Raw)['lambda'] = [{ filter: 'attention', value: 'big' }]), code: 'E_BAD_RECIPE', pattern: /"lambda" must be a number, got "big"/ },
  { name: 'seed negative', edit: (r) => void (r['seed'] = -1), code: 'E_BAD_RECIPE', pattern: /"seed" must be an integer >= 0/ },
  { name: 'seed fractional', edit: (r) => void (r['seed'] = 1.5), code: 'E_BAD_RECIPE', pattern: /"seed" must be an integer >= 0/ },
  { name: 'dtype float8', edit: (r) => void (r['dtype'] = 'float8'), code: 'E_BAD_RECIPE', pattern: /"dtype" must be one of float32, float16, bfloat16/ },
  { name: 'align mode unknown', edit: (r) => void (r['align'] = 'magic'), code: 'E_BAD_RECIPE', pattern: /"align" must be one of none, weights, activations/ },
  { name: 'heads mode unknown', edit: (r) => void (r['heads'] = 'both'), code: 'E_BAD_RECIPE', pattern: /"heads" must be one of/ },
  { name: 'shard_size negative', edit: (r) => void (r['shard_size'] = '-5GB'), code: 'E_BAD_RECIPE', pattern: /"shard_size" must be a size/ },
  { name: 'shard_size not a size', edit: (r) => void (r['shard_size'] = 'lots'), code: 'E_BAD_RECIPE', pattern: /"shard_size" must be a size/ },
  { name: 'max_texts zero', edit: (r) => void (r['max_texts'] = 0), code: 'E_BAD_RECIPE', pattern: /"max_texts" must be a positive integer/ },
  { name: 'onnx is a string', edit: (r) => void (r['onnx'] = 'yes'), code: 'E_BAD_RECIPE', pattern: /"onnx" must be true or false/ },
  { name: 'tokenizer_source not a model of the recipe', edit: (r) => void (r['tokenizer_source'] = 'elsewhere'), code: 'E_BAD_RECIPE', pattern: /tokenizer_source" must be base, union or one of the recipe's models/ },
  { name: 'a model without a weight (mergekit requires one)', edit: (r) => void delete params0(r)['weight'], code: 'E_BAD_RECIPE', pattern: /ties needs "weight" for models\[0\]/ },
  { name: 'ties without base_model', edit: (r) => void delete r['base_model'], code: 'E_BAD_RECIPE', pattern: /ties needs a base_model/ },
  { name: 'linear with a base_model', edit: (r) => void ((r['merge_method'] = 'linear'), (r['parameters'] = {}), models(r).forEach((m) => (m['parameters'] = {}))), code: 'E_BAD_RECIPE', pattern: /linear does not use base_model/ },
  { name: 'slerp with three models', edit: (r) => {
    r['merge_method'] = 'slerp';
    delete r['base_model'];
    r['parameters'] = {};
    r['models'] = [fixture('sst2-sibling-a'), fixture('sst2-sibling-b'), fixture('subj-sibling')];
  }, code: 'E_BAD_RECIPE', pattern: /slerp needs exactly 2 models, the recipe lists 3/ },
  { name: 'regmean without texts', edit: (r) => {
    r['merge_method'] = 'regmean';
    delete r['base_model'];
    r['parameters'] = {};
    models(r).forEach((m) => (m['parameters'] = {}));
  }, code: 'E_BAD_RECIPE', pattern: /regmean runs the members on unlabelled texts: give "texts"/ },
  { name: 'a task name with spaces', edit: (r) => void (models(r)[0]!['task'] = 'sst 2'), code: 'E_BAD_RECIPE', pattern: /models\[0\]\.task must be a name/ },
  { name: 'two models with the same task name', edit: (r) => void models(r).forEach((m) => (m['task'] = 'sst2')), code: 'E_BAD_RECIPE', pattern: /two models use task name "sst2"/ },
];

/** Recipes that parse but name things that are not there: refused by merge before anything is written. */
const MERGE_RUNTIME_CASES: readonly (RecipeCase & { names: (r: Raw) => string })[] = [
  { name: 'a model folder that does not exist', edit: (r) => void (models(r)[1]!['model'] = path.join(root, 'no-such-model')), names: () => path.join(root, 'no-such-model'), code: 'E_MISSING_FILE', pattern: /no such model folder/ },
  { name: 'texts file that does not exist', edit: (r) => {
    r['merge_method'] = 'regmean';
    delete r['base_model'];
    r['parameters'] = {};
    models(r).forEach((m) => (m['parameters'] = {}));
    r['texts'] = path.join(root, 'no-such-texts.txt');
  }, names: () => path.join(root, 'no-such-texts.txt'), code: 'E_MISSING_FILE', pattern: /cannot read/ },
  { name: 'members with different vocabularies', edit: (r) => void (models(r)[1]!['model'] = fixture('sst2-stranger-b')), names: () => fixture('sst2-stranger-b'), code: 'E_INCOMPATIBLE', pattern: /vocab|shape|tokenizer/ },
];

function writeRecipe(c: RecipeCase, good: Raw): string {
  const r = structuredClone(good);
  const raw = c.edit(r);
  const file = path.join(root, `recipe-${n++}.yaml`);
  fs.writeFileSync(file, typeof raw === 'string' ? raw : YAML.stringify(r));
  return file;
}

describe('merge recipes: bad methods, parameter types and ranges are refused', () => {
  for (const c of MERGE_CASES) {
    test(c.name, knownIssue(`merge recipe: ${c.name}`), async () => {
      const file = writeRecipe(c, goodMerge());
      await expectRefused(() => loadMergeRecipe(file), { code: c.code, names: file, pattern: c.pattern });
      const out = path.join(root, `merged-${n}`);
      await expectRefused(async () => merge(loadMergeRecipe(file), { out }), { code: c.code, names: file, pattern: c.pattern }, [out], 'merge');
    });
  }
  for (const c of MERGE_RUNTIME_CASES) {
    test(`at merge time: ${c.name}`, knownIssue(`merge recipe: ${c.name}`), async () => {
      const good = goodMerge();
      const file = writeRecipe(c, good);
      const edited = structuredClone(goodMerge());
      c.edit(edited);
      const out = path.join(root, `merged-${n}`);
      await expectRefused(async () => merge(loadMergeRecipe(file), { out }), { code: c.code, names: c.names(edited), pattern: c.pattern }, [out]);
    });
  }

  test('through the CLI: bertfuse merge <bad recipe> --out prints one line and writes nothing', async () => {
    const file = writeRecipe(MERGE_CASES.find((c) => c.name === 'density above 1')!, goodMerge());
    const out = path.join(root, 'cli-merged');
    const r = await runCli(['merge', file, '--out', out]);
    if (!isOneLineError(r) || !r.stderr.includes(file)) throw new Error(`code ${r.code}, stderr: ${r.stderr}`);
    assertNoOutput([out]);
  });
});

function goodCombine(): Raw {
  return {
    members: [fixture('sst2-sibling-a'), { path: fixture('sst2-stranger-b'), name: 'stranger' }],
    data,
    labels: ['negative', 'positive'],
    method: 'stack',
    options: { l2_steps: 3 },
    seed: 0,
    folds: 2,
    out: path.join(root, 'combined-never'),
  };
}

const COMBINE_CASES: readonly RecipeCase[] = [
  { name: 'not YAML', edit: () => 'members: [a, b\nmethod: mean\n', code: 'E_BAD_RECIPE', pattern: /invalid YAML/ },
  { name: 'a list, not a mapping', edit: () => '- mean\n', code: 'E_BAD_RECIPE', pattern: /a combine recipe is a YAML mapping/ },
  { name: 'unknown top-level key', edit: (r) => void (r['fusion'] = 'mean'), code: 'E_BAD_RECIPE', pattern: /unknown key "fusion"/ },
  { name: 'one member', edit: (r) => void (r['members'] = [fixture('sst2-sibling-a')]), code: 'E_BAD_RECIPE', pattern: /"members" must list at least two/ },
  { name: 'a member is a number', edit: (r) => void ((r['members'] as unknown[])[1] = 3), code: 'E_BAD_RECIPE', pattern: /members\[1\] must be a path or \{ path, name \}/ },
  { name: 'data missing', edit: (r) => void delete r['data'], code: 'E_BAD_RECIPE', pattern: /"data" .* is required/ },
  { name: 'data with an unknown key', edit: (r) => void (r['data'] = { path: data, sheet: 1 }), code: 'E_BAD_RECIPE', pattern: /data: unknown key "sheet"/ },
  { name: 'one label', edit: (r) => void (r['labels'] = ['positive']), code: 'E_BAD_RECIPE', pattern: /"labels" must list at least two label names/ },
  { name: 'label_map to a number', edit: (r) => void (r['label_map'] = { NEG: 0 }), code: 'E_BAD_RECIPE', pattern: /"label_map" must map names to names/ },
  { name: 'options is a list', edit: (r) => void (r['options'] = ['l2=1']), code: 'E_BAD_RECIPE', pattern: /"options" \(or "parameters"\) must be a mapping/ },
  { name: 'an option is an object', edit: (r) => void (r['options'] = { l2_steps: { n: 3 } }), code: 'E_BAD_RECIPE', pattern: /options\.l2_steps must be a number/ },
  { name: 'seed negative', edit: (r) => void (r['seed'] = -2), code: 'E_BAD_RECIPE', pattern: /"seed" must be an integer ≥ 0/ },
  { name: 'one fold', edit: (r) => void (r['folds'] = 1), code: 'E_BAD_RECIPE', pattern: /"folds" must be an integer ≥ 2/ },
  { name: 'out missing', edit: (r) => void delete r['out'], code: 'E_BAD_RECIPE', pattern: /out must be a non-empty string/ },
  { name: 'unknown fusion method', edit: (r) => void (r['method'] = 'magic'), code: 'E_BAD_RECIPE', pattern: /unknown fusion method "magic" \(known: .*mean/ },
  { name: 'option of the wrong type', edit: (r) => void (r['options'] = { l2_steps: 'many' }), code: 'E_BAD_RECIPE', pattern: /option "l2_steps" must be a number/ },
  { name: 'option out of range', edit: (r) => void (r['options'] = { l2_steps: 50 }), code: 'E_BAD_RECIPE', pattern: /option "l2_steps" must be ≤ 20/ },
  { name: 'option the method does not take', edit: (r) => void (r['options'] = { temperature: 2 }), code: 'E_BAD_RECIPE', pattern: /unknown option "temperature"/ },
  { name: 'a member folder that does not exist', edit: (r) => void ((r['members'] as unknown[])[0] = path.join(root, 'missing-member')), code: 'E_MISSING_FILE', pattern: /no such model folder|not found|missing/ },
];

describe('combine recipes: bad methods, options, types and ranges are refused before writing', () => {
  for (const c of COMBINE_CASES) {
    test(c.name, knownIssue(`combine recipe: ${c.name}`), async () => {
      const good = goodCombine();
      const file = writeRecipe(c, good);
      const out = good['out'] as string;
      // Parsing and running are one step for the user (`bertfuse combine --recipe`): the message
      // must name the recipe (or, for a missing member, that folder).
      const names = c.code === 'E_MISSING_FILE' ? path.join(root, 'missing-member') : file;
      await expectRefused(async () => combine(readCombineRecipe(file), { registry: FUSION_METHODS }), { code: c.code, names, pattern: c.pattern }, [out]);
    });
  }
});
