// The library as a user meets it: combine({ members, data, out }) with the CLI's defaults and auto
// (merges included), predict(model, ['text']) with plain strings, and a consumer project that
// type-checks against the built declarations with strict on and skipLibCheck off.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { combine, loadClassifier, predict } from '../../src/index.js';
import { DIST_IS_FRESH } from '../helpers/cli.js';
import { DATA, ROOT, fixture, tempDir } from '../helpers/fixtures.js';

const work = tempDir('bertfuse-api-');

test("combine({ members: ['a', 'b'], data, out }): defaults and the CLI's auto, weight merges included", async () => {
  const data = path.join(work, 'dev120.tsv');
  fs.writeFileSync(data, fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(0, 121).join('\n') + '\n');
  const out = path.join(work, 'combined');
  const outcome = await combine({ members: [fixture('sst2-sibling-a'), fixture('sst2-sibling-b')], data, out });
  const names = outcome.result.rows.map((r) => r.name);
  for (const m of ['mean', 'weighted', 'vote', 'geometric_mean', 'stack', 'concat', 'cascade', 'merge:linear']) assert.ok(names.includes(m), `${m} in ${names.join(', ')}`);
  assert.ok(outcome.result.selection, 'auto records its pick');
  assert.ok(fs.existsSync(outcome.out));
});

test('predict(model, strings) equals predict(model, { text }) and takes text_pair as Hugging Face spells it', async () => {
  const model = await loadClassifier(fixture('sst2-sibling-a'));
  try {
    const texts = ['a gorgeous , witty movie .', 'one long string of cliches .'];
    const fromStrings = await predict(model, texts);
    assert.deepEqual(fromStrings, await predict(model, texts.map((text) => ({ text }))));
    assert.deepEqual(fromStrings.map((p) => p.label), ['positive', 'negative']);
    const pair = await predict(model, [{ text: 'a film .', text_pair: 'it is slow and beautiful .' }]);
    assert.deepEqual(pair, await predict(model, [{ text: 'a film .', textPair: 'it is slow and beautiful .' }]));
    assert.notDeepEqual(pair, await predict(model, ['a film .']), 'the pair is used');
  } finally {
    await model.close();
  }
});

// Inside the project (so the package's dependencies resolve as they would in node_modules); .gitignore'd.
const consumerRoot = path.join(ROOT, `.bertfuse-tmp-consumer-${process.pid}`);
after(() => fs.rmSync(consumerRoot, { recursive: true, force: true }));

test('a consumer project type-checks against the built package with strict and skipLibCheck false', { timeout: 600_000 }, () => {
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const pkg = path.join(consumerRoot, 'pkg');
  const app = path.join(consumerRoot, 'app');
  fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  fs.mkdirSync(pkg, { recursive: true });
  if (DIST_IS_FRESH) {
    // The test runner has just built dist/ (declarations included) from this source.
    fs.symlinkSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'));
  } else {
    const build = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--declaration', '--emitDeclarationOnly', '--outDir', path.join(pkg, 'dist'), '--tsBuildInfoFile', path.join(pkg, 'build.tsbuildinfo')], { encoding: 'utf8' });
    assert.equal(build.status, 0, build.stdout + build.stderr);
  }
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(pkg, path.join(app, 'node_modules', 'bertfuse'));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  fs.writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, skipLibCheck: false, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'] }, files: ['index.ts'] }),
  );
  fs.writeFileSync(
    path.join(app, 'index.ts'),
    [
      "import { combine, loadClassifier, predict, merge, parseMergeRecipe, createServer, GraphBuilder, type CombineSpec, type Prediction } from 'bertfuse';",
      "const spec: CombineSpec = { members: ['a', 'b'], data: 'dev.tsv', out: 'out' };",
      'const outcome = await combine(spec);',
      'const model = await loadClassifier(outcome.out);',
      "const preds: Prediction[] = await predict(model, ['a gorgeous movie', { text: 'premise', text_pair: 'hypothesis' }]);",
      "const recipe = parseMergeRecipe({ merge_method: 'linear', models: [{ model: 'a' }, { model: 'b' }] });",
      'await merge(recipe, { out: "merged" });',
      'console.log(preds[0]?.label, createServer, new GraphBuilder());',
      '',
    ].join('\n'),
  );
  const check = spawnSync(process.execPath, [tsc, '-p', path.join(app, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  // And a type error is still an error (the check can fail).
  fs.appendFileSync(path.join(app, 'index.ts'), "const wrong: number = preds[0]!.label;\nconsole.log(wrong);\n");
  const bad = spawnSync(process.execPath, [tsc, '-p', path.join(app, 'tsconfig.json')], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout, /index\.ts\(\d+,\d+\): error TS2322/);
});
