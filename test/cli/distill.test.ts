import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { DATA, fixture } from '../helpers/fixtures.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-distill-'));
const texts = path.join(tmp, 'texts.txt');
fs.writeFileSync(texts, fs.readFileSync(path.join(DATA, 'sst2_transfer.txt'), 'utf8').split('\n').slice(0, 48).join('\n') + '\n');
const dev = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
const evalFile = path.join(tmp, 'eval.tsv');
fs.writeFileSync(evalFile, dev.slice(0, 41).join('\n') + '\n');
// The teacher's members are positional, as in eval, combine and merge.
const teacher = [fixture('sst2-sibling-a'), fixture('sst2-stranger-b'), '--method', 'mean'];
const rest = ['--student', fixture('sst2-sibling-a'), '--texts', texts, '--epochs', '1', '--batch-size', '16', '--lr', '3e-4', '--threads', '1'];
const common = [...teacher, ...rest];

test('distill: a half-depth student is trained, written as a HF folder + model.onnx, scored in the eval table; same seed → same bytes', async () => {
  const outs = [path.join(tmp, 'a'), path.join(tmp, 'b')];
  const first = await runCli(['distill', ...common, '--student-layers', '1', '--eval-data', evalFile, '--out', outs[0]!]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /student \(a\)\s+distilled\s+\d+\.\d+%/);
  assert.match(first.stdout, /sst2-stranger-b\s+member/);
  assert.match(first.stdout, /mean\s+fusion/);
  assert.doesNotMatch(first.stderr, /deprecated/);
  // The old spelling (--teacher A --teacher B) still works, says so once, and trains the same student.
  const second = await runCli(['distill', '--teacher', fixture('sst2-sibling-a'), '--teacher', fixture('sst2-stranger-b'), '--method', 'mean', ...rest, '--student-layers', '1', '--out', outs[1]!]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stderr, 'note: --teacher is deprecated; use positional teacher members (bertfuse distill A B --student …)\n');
  const cfg = JSON.parse(fs.readFileSync(path.join(outs[0]!, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg['num_hidden_layers'], 1);
  for (const f of fs.readdirSync(outs[0]!).filter((n) => n.endsWith('.safetensors') || n === 'model.onnx')) {
    assert.ok(fs.readFileSync(path.join(outs[0]!, f)).equals(fs.readFileSync(path.join(outs[1]!, f))), `${f} differs between two runs with the same seed`);
  }
  assert.ok(!fs.existsSync(`${outs[0]}.bertfuse-train.safetensors`), 'the checkpoint is removed after a finished run');
  // The student loads like any model and differs from its starting point.
  const student = await loadClassifier(outs[0]!);
  const start = await loadClassifier(fixture('sst2-sibling-a'));
  try {
    const inputs = [{ text: 'a gorgeous , witty , seductive movie .' }];
    const [p, q] = [await student.predictProba(inputs), await start.predictProba(inputs)];
    assert.deepEqual(student.labels, ['negative', 'positive']);
    assert.ok(Math.abs(p[1]! - q[1]!) > 1e-4);
  } finally {
    await student.close();
    await start.close();
  }
});

test('distill: bad input gets one clear line', async () => {
  const empty = path.join(tmp, 'empty.txt');
  fs.writeFileSync(empty, '\n');
  const r1 = await runCli(['distill', ...teacher, '--student', fixture('sst2-sibling-a'), '--texts', empty, '--out', path.join(tmp, 'x')]);
  assert.ok(isOneLineError(r1), r1.stderr);
  assert.match(r1.stderr, /empty\.txt: no inputs/);

  const r2 = await runCli(['distill', fixture('subj-sibling'), '--student', fixture('sst2-sibling-a'), '--texts', texts, '--out', path.join(tmp, 'y')]);
  assert.ok(isOneLineError(r2), r2.stderr);
  assert.match(r2.stderr, /subj-sibling: labels \[subjective, objective\] do not match \[negative, positive\]: .*\(map names with --label-map /);
  // --label-map (the shared data flag) renames the teacher's labels before they are matched.
  const r2b = await runCli(['distill', fixture('subj-sibling'), '--label-map', 'subjective=negative', '--student', fixture('sst2-sibling-a'), '--texts', texts, '--out', path.join(tmp, 'y')]);
  assert.ok(isOneLineError(r2b), r2b.stderr);
  assert.match(r2b.stderr, /subj-sibling: labels \[negative, objective\] do not match \[negative, positive\]/);

  const out = path.join(tmp, 'z');
  const r3 = await runCli(['distill', ...common, '--lr', '1e30', '--out', out]);
  assert.ok(isOneLineError(r3), r3.stderr);
  assert.match(r3.stderr, /loss became NaN\/Infinity at step \d+; stopped, (the last good checkpoint \(step \d+\) is .*z\.bertfuse-train\.safetensors|no checkpoint had been written yet); nothing written/);
  assert.ok(!fs.existsSync(out));

  // A bad --eval-data is found before the teacher runs and the student trains: one line, and no
  // student left behind (it used to be found by the scoring, after the student was written).
  const badEval = path.join(tmp, 'bad-eval.tsv');
  fs.writeFileSync(badEval, 'label\tsentence\n7\tfine film .\n');
  const out4 = path.join(tmp, 'w');
  const r4 = await runCli(['distill', ...common, '--eval-data', badEval, '--out', out4]);
  assert.ok(isOneLineError(r4), r4.stderr);
  assert.match(r4.stderr, /bad-eval\.tsv: label not in the label list \[negative, positive\].*"7" \(line 2\)/);
  assert.doesNotMatch(r4.stderr, /step|epoch/);
  assert.ok(!fs.existsSync(out4), 'no student is written when the scoring rows are bad');
});

test('distill --augment: variants of the transfer texts join the set (none near an --eval-data row), recorded in the manifest; --augment -1 is refused', async () => {
  const out = path.join(tmp, 'aug');
  const r = await runCli(['distill', ...common, '--student-layers', '1', '--augment', '2', '--eval-data', evalFile, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout) as { transfer: { texts: number; augmented: number; avoided: number }; train: { totalSteps: number } };
  assert.equal(o.transfer.texts, 48);
  assert.ok(o.transfer.augmented > 48 && o.transfer.augmented + o.transfer.avoided <= 96, JSON.stringify(o.transfer));
  // One epoch of batches of 16 over texts + variants.
  assert.equal(o.train.totalSteps, Math.ceil((48 + o.transfer.augmented) / 16));
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'bertfuse-distill.json'), 'utf8')) as { options: { augment: number } };
  assert.equal(manifest.options.augment, 2);
  const human = await runCli(['distill', ...common, '--student-layers', '1', '--augment', '2', '--out', path.join(tmp, 'aug2')]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /transfer set: 48 texts \+ 0 labelled rows \+ \d+ augmented variants;/);
  const bad = await runCli(['distill', ...common, '--augment', '-1', '--out', path.join(tmp, 'aug3')]);
  assert.ok(isOneLineError(bad), bad.stderr);
  assert.match(bad.stderr, /--augment/);
});

test('distill --augment-mlm: variants take words a masked LM expects (recorded in manifest and card); without --augment, or with a classifier as the masked LM, one line and nothing written', async () => {
  const out = path.join(tmp, 'aug-mlm');
  const r = await runCli(['distill', ...common, '--student-layers', '1', '--augment', '2', '--augment-mlm', fixture('base-mlm'), '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout) as { transfer: { texts: number; augmented: number } };
  assert.equal(o.transfer.texts, 48);
  assert.ok(o.transfer.augmented > 48, JSON.stringify(o.transfer));
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'bertfuse-distill.json'), 'utf8')) as { options: { augment: number; augmentMlm?: string } };
  assert.equal(manifest.options.augment, 2);
  assert.equal(manifest.options.augmentMlm, fixture('base-mlm'));
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /words replaced by words the masked LM `.*base-mlm` expects in their place/);

  const noAugment = await runCli(['distill', ...common, '--augment-mlm', fixture('base-mlm'), '--out', path.join(tmp, 'aug-mlm2')]);
  assert.ok(isOneLineError(noAugment), noAugment.stderr);
  assert.match(noAugment.stderr, /--augment-mlm .*base-mlm draws the words of augmented variants: give --augment <n> too/);
  const notMlm = await runCli(['distill', ...common, '--augment', '2', '--augment-mlm', fixture('sst2-stranger-b'), '--out', path.join(tmp, 'aug-mlm3')]);
  assert.ok(isOneLineError(notMlm), notMlm.stderr);
  assert.match(notMlm.stderr, /sst2-stranger-b\/config\.json: BertForSequenceClassification is not a masked language model/);
  for (const d of ['aug-mlm2', 'aug-mlm3']) assert.ok(!fs.existsSync(path.join(tmp, d)), `${d} was written`);
});
