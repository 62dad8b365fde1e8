import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { registerCombinedLoader } from '../../src/artifact/read.js';
import { loadClassifier, type Classifier } from '../../src/runtime/classifier.js';
import { createServer } from '../../src/serve/server.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';
import { cliInProcess } from './in-process.js';

/*
 * Labels and member names are data: names that are also Object.prototype members ("__proto__",
 * "constructor", "toString", "hasOwnProperty", "valueOf") work in every command. The fixtures are
 * copied and their config.json id2label rewritten; a renamed model must give the same numbers as
 * the original under the new names.
 */

const root = tempDir('bertfuse-rel-names-');
const TEXTS = ['a gorgeous , witty , seductive movie .', 'one long string of cliches .'];
const NAME_SETS: ReadonlyArray<readonly [string, string]> = [
  ['__proto__', 'constructor'],
  ['toString', 'hasOwnProperty'],
  ['valueOf', '__defineGetter__'],
];

/** A copy of `name` whose labels negative/positive are called `neg`/`pos`, in folder `folder`. */
function renamed(name: string, [neg, pos]: readonly [string, string], folder: string): string {
  const dir = path.join(root, folder);
  fs.cpSync(fixture(name), dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as { id2label: Record<string, string>; label2id: Record<string, number> };
  const to = (l: string): string => (l === 'negative' ? neg : pos);
  cfg.id2label = Object.fromEntries(Object.entries(cfg.id2label).map(([k, v]) => [k, to(v)]));
  cfg.label2id = Object.fromEntries(Object.entries(cfg.label2id).map(([k, v]) => [to(k), v]));
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
  return dir;
}

/** SST-2 dev's first rows with the label column spelled as names. */
function namedData([neg, pos]: readonly [string, string], file: string): string {
  const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
  const rows = lines.slice(1, 25).map((l) => {
    const [y, ...t] = l.split('\t');
    return `${y === '1' ? pos : neg}\t${t.join('\t')}`;
  });
  fs.writeFileSync(file, [lines[0], ...rows].join('\n') + '\n');
  return file;
}

type Probs = Record<string, number>;
const jsonLines = (s: string): Array<{ label: string; probs: Probs }> => s.trim().split('\n').map((l) => JSON.parse(l) as { label: string; probs: Probs });

let original: Probs[] = [];
before(async () => {
  registerCombinedLoader();
  const r = await cliInProcess(['predict', fixture('sst2-sibling-a'), '--json', '--text', ...TEXTS]);
  assert.equal(r.code, 0, r.stderr);
  original = jsonLines(r.stdout).map((p) => p.probs);
});

for (const names of NAME_SETS) {
  const [neg, pos] = names;
  const tag = names.join('+').replace(/\W+/g, '_');
  describe(`names as data: labels ${neg}, ${pos}`, () => {
    const a = renamed('sst2-sibling-a', names, `${tag}-a`);
    const b = renamed('sst2-stranger-b', names, `${tag}-b`);
    const data = namedData(names, path.join(root, `${tag}.tsv`));

    test('predict: JSON and the table carry every label with the original model\'s probabilities', async () => {
      const r = await cliInProcess(['predict', a, '--json', '--text', ...TEXTS]);
      assert.equal(r.code, 0, r.stderr);
      const got = jsonLines(r.stdout);
      got.forEach((p, i) => {
        assert.deepEqual(Object.keys(p.probs), [neg, pos]);
        assert.ok(Math.abs(p.probs[neg]! - original[i]!['negative']!) < 1e-6 && Math.abs(p.probs[pos]! - original[i]!['positive']!) < 1e-6);
        assert.equal(p.label, original[i]!['positive']! > 0.5 ? pos : neg);
        assert.equal(Object.getPrototypeOf(p.probs), Object.prototype, 'the parsed JSON kept an ordinary object');
      });
      const table = await cliInProcess(['predict', a, '--text', ...TEXTS]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, new RegExp(`p\\(${neg.replace(/[$]/g, '\\$')}\\)\\s+p\\(${pos}\\)`));
      assert.match(table.stdout, new RegExp(`0\\s+${pos}\\s+${original[0]!['negative']!.toFixed(4)}\\s+${original[0]!['positive']!.toFixed(4)}`));
    });

    test('eval and combine align members by these names; the combined folder predicts and reports', async () => {
      const ev = await cliInProcess(['eval', a, b, '--data', data, '--folds', '2', '--json']);
      assert.equal(ev.code, 0, ev.stderr);
      const result = JSON.parse(ev.stdout) as { labels: string[]; rows: Array<{ kind: string; accuracy: number; perLabel: Array<{ label: string; support: number }> }> };
      assert.deepEqual(result.labels, [neg, pos]);
      const members = result.rows.filter((r) => r.kind === 'member');
      assert.equal(members.length, 2);
      assert.ok(members.every((m) => m.accuracy > 0.7), 'aligned by name (stranger-b lists its labels the other way round): both members beat chance');
      assert.deepEqual(members[0]!.perLabel.map((l) => l.label), [neg, pos]);
      assert.equal(members[0]!.perLabel.reduce((s, l) => s + l.support, 0), 24);
      const out = path.join(root, `${tag}-combined`);
      const c = await cliInProcess(['combine', a, b, '--data', data, '--folds', '2', '--method', 'mean', '--out', out, '--save-eval', '--quiet']);
      assert.equal(c.code, 0, c.stderr);
      const p = await cliInProcess(['predict', out, '--json', '--text', TEXTS[0]!]);
      assert.equal(p.code, 0, p.stderr);
      assert.deepEqual(Object.keys(jsonLines(p.stdout)[0]!.probs), [neg, pos]);
      const page = path.join(root, `${tag}.html`);
      const rep = await cliInProcess(['report', out, '--out', page]);
      assert.equal(rep.code, 0, rep.stderr);
      assert.ok(fs.readFileSync(page, 'utf8').includes(pos));
    });

    test('--label-map renames these names (and only these)', async () => {
      const ev = await cliInProcess(['eval', a, b, '--data', data, '--folds', '2', '--json', '--label-map', `${neg}=negative,${pos}=positive`]);
      assert.equal(ev.code, 0, ev.stderr);
      assert.deepEqual((JSON.parse(ev.stdout) as { labels: string[] }).labels, ['negative', 'positive']);
      // A label the map does not mention keeps its name, even when it is an Object.prototype member.
      const partial = await cliInProcess(['predict', a, '--json', '--text', TEXTS[0]!]);
      assert.equal(partial.code, 0);
      const ev2 = await cliInProcess(['eval', a, b, '--data', data, '--folds', '2', '--json', '--label-map', `${neg}=negative`]);
      assert.equal(ev2.code, 0, ev2.stderr);
      assert.deepEqual((JSON.parse(ev2.stdout) as { labels: string[] }).labels, ['negative', pos]);
    });

    test('merge: one merged head and separate heads named after these names', async () => {
      const b2 = renamed('sst2-sibling-b', names, `${tag}-sib-b`);
      const recipe = path.join(root, `${tag}-merge.yaml`);
      fs.writeFileSync(recipe, YAML.stringify({ merge_method: 'linear', parameters: { weight: 1 }, models: [{ model: a }, { model: b2 }] }));
      const out = path.join(root, `${tag}-merged`);
      const m = await cliInProcess(['merge', recipe, '--out', out, '--quiet']);
      assert.equal(m.code, 0, m.stderr);
      const p = await cliInProcess(['predict', out, '--json', '--text', TEXTS[0]!]);
      assert.equal(p.code, 0, p.stderr);
      assert.deepEqual(Object.keys(jsonLines(p.stdout)[0]!.probs), [neg, pos]);
      const sep = path.join(root, `${tag}-separate.yaml`);
      fs.writeFileSync(sep, YAML.stringify({ merge_method: 'linear', heads: 'separate', parameters: { weight: 1 }, models: [{ model: a, task: 'constructor' }, { model: b2, task: 'toString' }] }));
      const out2 = path.join(root, `${tag}-separate`);
      const m2 = await cliInProcess(['merge', sep, '--out', out2, '--quiet', '--json']);
      assert.equal(m2.code, 0, m2.stderr);
      const res = JSON.parse(m2.stdout) as { tasks: Array<{ task: string; folder: string; labels: string[] }> };
      assert.deepEqual(res.tasks.map((t) => [t.task, t.folder, t.labels]), [['constructor', 'constructor', [neg, pos]], ['toString', 'toString', [neg, pos]]]);
      assert.equal((await cliInProcess(['predict', path.join(out2, 'toString'), '--json', '--text', TEXTS[0]!])).code, 0);
    });
  });
}

describe('names as data: member names and the server', () => {
  let model: Classifier;
  let url = '';
  let close: () => Promise<void> = async () => {};
  before(async () => {
    const dir = path.join(root, 'members');
    fs.mkdirSync(dir);
    // Members are named after their folders.
    for (const [from, to] of [['sst2-sibling-a', 'constructor'], ['sst2-stranger-b', 'toString'], ['sst2-sibling-b', 'hasOwnProperty']] as const) renamed(from, ['__proto__', 'valueOf'], path.join('members', to));
    const data = namedData(['__proto__', 'valueOf'], path.join(root, 'members.tsv'));
    const out = path.join(root, 'members-combined');
    const r = await cliInProcess(['combine', 'constructor', 'toString', 'hasOwnProperty', '--data', data, '--folds', '2', '--method', 'mean', '--out', out, '--quiet'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    model = await loadClassifier(out);
    const app = createServer(model);
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => {
      await app.close();
      await model.close();
    };
  });
  after(() => close());

  test('POST /v1/predict?members=true: label names and member names come back as keys', async () => {
    const res = await fetch(`${url}/v1/predict?members=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: TEXTS }) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { predictions: Array<{ label: string; probs: Probs; members: Record<string, { probs: Probs }> }> };
    for (const p of body.predictions) {
      assert.deepEqual(Object.keys(p.probs), ['__proto__', 'valueOf']);
      assert.ok(Math.abs(p.probs['__proto__']! + p.probs['valueOf']! - 1) < 1e-5);
      assert.deepEqual(Object.keys(p.members).sort(), ['constructor', 'hasOwnProperty', 'toString']);
      const mean = (Object.values(p.members).reduce((s, m) => s + m.probs['valueOf']!, 0)) / 3;
      assert.ok(Math.abs(mean - p.probs['valueOf']!) < 1e-5, 'the fused probability is the members\' mean');
    }
  });

  test('predictDetailed keeps every member, whatever it is called', async () => {
    const d = await model.predictDetailed!(TEXTS.map((text) => ({ text, textPair: null })));
    assert.deepEqual(Object.keys(d.members).sort(), ['constructor', 'hasOwnProperty', 'toString']);
    assert.ok(d.members['constructor'] instanceof Float32Array);
  });
});
