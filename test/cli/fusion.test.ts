import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { main } from '../../src/cli/main.js';
import { isOneLineError, runCli, type CliResult } from '../helpers/cli.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

const A = fixture('sst2-sibling-a');
const B = fixture('sst2-stranger-b');
// sst2_dev's labels are integers (0 = negative) and the two members order their labels differently,
// so every run says what the integers mean.
const LABELS = ['--labels', 'negative,positive'];
const TEXTS = ['a gorgeous , witty , seductive movie .', 'one long string of cliches .', 'the acting is fine but the script is a mess .'];

interface PredictLine {
  label: string;
  probs: Record<string, number>;
}

/**
 * The CLI in this process, for failures that happen before any model runs. Only stderr is
 * captured: stdout belongs to the test runner's protocol, and a failing command prints nothing there.
 */
async function runInProcess(args: readonly string[]): Promise<CliResult> {
  let stderr = '';
  const err = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'bertfuse', ...args]);
    return { code, stdout: '', stderr };
  } finally {
    process.stderr.write = err;
  }
}

describe('bertfuse combine → predict (CLI)', () => {
  const root = tempDir();
  const data = path.join(root, 'dev200.tsv');
  before(() => {
    const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
    fs.writeFileSync(data, lines.slice(0, 201).join('\n') + '\n');
  });

  test('combine --method mean, then predict the folder: the mean of the members\' probabilities', async () => {
    const out = path.join(root, 'mean');
    const r = await runCli(['combine', A, B, '--data', data, ...LABELS, '--method', 'mean', '--out', out, '--folds', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sst2-stranger-b\s+member\s+/);
    assert.match(r.stdout, /labels positive, negative → aligned by name to negative, positive/);
    assert.match(r.stdout, /wrote .*mean \(mean\) — inputs input_ids, attention_mask, token_type_ids, input_ids_1/);
    assert.equal(fs.existsSync(path.join(out, 'eval.json')), false, 'eval.json (holds data texts) only with --save-eval');
    const p = await runCli(['predict', out, '--json', ...TEXTS.flatMap((t) => ['--text', t])]);
    assert.equal(p.code, 0, p.stderr);
    const got = p.stdout.trim().split('\n').map((l) => JSON.parse(l) as PredictLine);
    // Independent: each member alone, by its own labels, averaged by name.
    const members = [await loadClassifier(A), await loadClassifier(B)];
    const probs = await Promise.all(members.map((m) => m.predictProba(TEXTS.map((text) => ({ text })))));
    await Promise.all(members.map((m) => m.close()));
    got.forEach((row, i) => {
      for (const label of ['negative', 'positive']) {
        const want = (probs[0]![i * 2 + members[0]!.labels.indexOf(label)]! + probs[1]![i * 2 + members[1]!.labels.indexOf(label)]!) / 2;
        assert.ok(Math.abs(row.probs[label]! - want) < 1e-5, `${TEXTS[i]} ${label}: ${row.probs[label]} vs ${want}`);
      }
    });
    assert.deepEqual(got.slice(0, 2).map((g) => g.label), ['positive', 'negative']);
  });

  test('combine --weights 0.6,0.4: weighted with the user\'s weights, in the graph too (0.6·p_A + 0.4·p_B)', async () => {
    const out = path.join(root, 'fixed-weights');
    const r = await runCli(['combine', A, B, '--data', data, ...LABELS, '--weights', '0.6,0.4', '--out', out, '--folds', '3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { exported: string; manifest: { method: { params: { weights: number[] } } } };
    assert.equal(j.exported, 'weighted');
    assert.deepEqual(j.manifest.method.params.weights, [0.6, 0.4]);
    const p = await runCli(['predict', out, '--json', ...TEXTS.flatMap((t) => ['--text', t])]);
    const got = p.stdout.trim().split('\n').map((l) => JSON.parse(l) as PredictLine);
    const members = [await loadClassifier(A), await loadClassifier(B)];
    const probs = await Promise.all(members.map((m) => m.predictProba(TEXTS.map((text) => ({ text })))));
    await Promise.all(members.map((m) => m.close()));
    got.forEach((row, i) => {
      const want = 0.6 * probs[0]![i * 2 + members[0]!.labels.indexOf('positive')]! + 0.4 * probs[1]![i * 2 + members[1]!.labels.indexOf('positive')]!;
      assert.ok(Math.abs(row.probs['positive']! - want) < 1e-5, `${TEXTS[i]}: ${row.probs['positive']} vs ${want}`);
    });
    const bad = await runCli(['combine', A, B, '--data', data, ...LABELS, '--weights', '0.6,-1', '--out', path.join(root, 'bad-weights')]);
    assert.ok(isOneLineError(bad), bad.stderr);
    assert.match(bad.stderr, /weights must be finite numbers ≥ 0, got "-1"/);
  });

  test('combine --method auto --json: every method scored out-of-fold, the pick follows the rule, the folder holds it', async () => {
    const out = path.join(root, 'auto');
    const r = await runCli(['combine', A, B, '--data', data, ...LABELS, '--out', out, '--folds', '3', '--json', '--save-eval']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      exported: string;
      result: { rows: { name: string; kind: string; logLoss: number; cost: number; scoring: string; pareto: boolean }[]; selection: { winner: string; rule: string } };
      manifest: { method: { name: string } };
    };
    const fusion = j.result.rows.filter((x) => x.kind === 'fusion');
    assert.deepEqual(fusion.map((x) => x.name), ['mean', 'weighted', 'vote', 'geometric_mean', 'stack', 'concat', 'cascade']);
    assert.ok(fusion.every((x) => x.scoring === 'out-of-fold'));
    const best = Math.min(...fusion.map((x) => x.logLoss));
    const tied = fusion.filter((x) => x.logLoss - best <= 1e-4);
    const cheapest = Math.min(...tied.map((x) => x.cost));
    const winner = fusion.find((x) => x.name === j.result.selection.winner)!;
    assert.ok(tied.includes(winner) && winner.cost === cheapest, `winner ${winner.name}`);
    assert.equal(j.exported, winner.name);
    assert.equal(j.manifest.method.name, winner.name);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'bertfuse.json'), 'utf8')).metrics.selection.winner, winner.name);
    assert.ok(j.result.rows.some((x) => x.pareto));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8')), j.result);
    const card = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    assert.match(card, /\| member `sst2-stranger-b` \| +\d+\.\d\d% \|/);
    assert.ok(card.includes(`Winner: \`${winner.name}\``));
  });

  test('combine --recipe file.yaml does the same from YAML (flags override)', async () => {
    const out = path.join(root, 'recipe-out');
    const recipe = path.join(root, 'combine.yaml');
    fs.writeFileSync(recipe, [`members:`, `  - ${A}`, `  - { path: ${B}, name: stranger }`, `data: ${data}`, `labels: [negative, positive]`, `method: weighted`, `seed: 3`, `folds: 3`, `out: ${path.join(root, 'ignored')}`, ''].join('\n'));
    const r = await runCli(['combine', '--recipe', recipe, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const man = JSON.parse(fs.readFileSync(path.join(out, 'bertfuse.json'), 'utf8')) as { members: { name: string }[]; method: { name: string }; metrics: { protocol: unknown } };
    assert.deepEqual(man.members.map((m) => m.name), ['sst2-sibling-a', 'stranger']);
    assert.equal(man.method.name, 'weighted');
    assert.deepEqual(man.metrics.protocol, { kind: 'out-of-fold', folds: 3, seed: 3 });
    assert.equal(fs.existsSync(path.join(root, 'ignored')), false);
  });

  test('eval --eval-data --json: fit on --data, scored on the other file; the EvalResult', async () => {
    const held = path.join(root, 'held.tsv');
    const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
    fs.writeFileSync(held, [lines[0], ...lines.slice(201, 301)].join('\n') + '\n');
    const r = await runCli(['eval', A, B, '--data', data, '--eval-data', held, ...LABELS, '--method', 'soft_vote', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { version: number; rows: { name: string; scoring: string }[]; disagreements: { index: number; line?: number; text: string }[]; labels: string[]; data: unknown; protocol: unknown };
    assert.equal(j.version, 1);
    assert.deepEqual(j.rows.map((x) => [x.name, x.scoring]), [['sst2-sibling-a', 'direct'], ['sst2-stranger-b', 'direct'], ['geometric_mean', 'eval-data']], 'soft_vote is the old name of geometric_mean');
    assert.deepEqual(j.labels, ['negative', 'positive']);
    assert.deepEqual(j.data, { fit: { path: data, n: 200 }, eval: { path: held, n: 100 } });
    assert.deepEqual(j.protocol, { kind: 'eval-data', seed: 0 });
    assert.ok(j.disagreements.length > 0);
    const d = j.disagreements[0]!;
    assert.equal(d.text, lines[201 + d.index]!.split('\t')[1]);
    // Its line in the scored file (header on line 1) holds that text: what the report's first column shows.
    assert.equal(d.line, d.index + 2);
    assert.equal(fs.readFileSync(held, 'utf8').split('\n')[d.line! - 1]!.split('\t')[1], d.text);
  });

  test('--label-map names integer labels; the first member (stranger-b) sets the order', async () => {
    const r = await runCli(['eval', B, A, '--data', data, '--label-map', '0=negative,1=positive', '--method', 'mean', '--folds', '3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { labels: string[]; rows: { name: string; accuracy: number; confusion: number[][] }[] };
    assert.deepEqual(j.labels, ['positive', 'negative']);
    const gold = fs.readFileSync(data, 'utf8').split('\n').slice(1, 201).map((l) => l.split('\t')[0]);
    const negatives = gold.filter((g) => g === '0').length;
    // confusion[gold][pred] in [positive, negative] order: the negative row holds the 0-labelled rows.
    for (const row of j.rows) assert.equal(row.confusion[1]![0]! + row.confusion[1]![1]!, negatives);
    assert.ok(j.rows.every((x) => x.accuracy > 0.7));
  });

  describe('bad inputs: one line on stderr, no output folder', () => {
    const latin1 = path.join(root, 'latin1.tsv');
    const unknownLabel = path.join(root, 'unknown.tsv');
    const notOurs = path.join(root, 'not-ours');
    before(() => {
      fs.writeFileSync(latin1, Buffer.concat([Buffer.from('label\ttext\n1\tun film '), Buffer.from([0xe9]), Buffer.from('mouvant\n0\tbad\n')]));
      fs.writeFileSync(unknownLabel, 'label\ttext\nnegative\tbad\nmeh\tso so\n');
      fs.mkdirSync(notOurs);
      fs.writeFileSync(path.join(notOurs, 'keep.txt'), 'precious');
    });
    const cases: [string, (out: string) => string[], RegExp][] = [
      ['missing member', (out) => ['combine', A, path.join(root, 'nope'), '--data', data, '--out', out], /nope: no such model folder/],
      ['one member', (out) => ['combine', A, '--data', data, '--out', out], /at least two member/],
      ['no --data', (out) => ['combine', A, B, '--out', out], /needs --data/],
      ['unknown method', (out) => ['combine', A, B, '--data', data, ...LABELS, '--method', 'average', '--out', out], /unknown fusion method "average" \(known: mean, weighted/],
      ['bad option', (out) => ['combine', A, B, '--data', data, ...LABELS, '--method', 'stack', '--param', 'l2_steps=many', '--out', out], /option "l2_steps" must be a number/],
      ['unknown option', (out) => ['combine', A, B, '--data', data, ...LABELS, '--method', 'mean', '--param', 'depth=3', '--out', out], /unknown option "depth"/],
      ['bad -p (the same flag as merge -p)', (out) => ['combine', A, B, '--data', data, ...LABELS, '-m', 'stack', '-p', 'l2_steps=many', '--out', out], /option "l2_steps" must be a number/],
      ['labels that cannot be matched', (out) => ['combine', A, fixture('subj-sibling'), '--data', data, '--out', out], /missing "negative", "positive"; extra "subjective", "objective"/],
      ['unknown data label', (out) => ['combine', A, B, '--data', unknownLabel, '--out', out], /"meh"/],
      ['latin-1 data', (out) => ['combine', A, B, '--data', latin1, '--out', out], /not valid UTF-8 .*--encoding latin1/],
      ['folds', (out) => ['combine', A, B, '--data', data, ...LABELS, '--folds', '1', '--out', out], /--folds must be a whole number ≥ 2/],
      ['integer labels, members in different orders, no --labels', (out) => ['combine', A, B, '--data', data, '--out', out], /integer labels \(0, 1\) but the members order their labels differently \(sst2-sibling-a: negative, positive; sst2-stranger-b: positive, negative\)/],
      ['bad recipe', (out) => ['combine', '--recipe', data, '--out', out], /dev200\.tsv: not a combine recipe: invalid YAML/],
    ];
    for (const [what, args, message] of cases) {
      test(what, async () => {
        const out = path.join(root, `bad-${what.replace(/\W+/g, '-')}`);
        const r = await runInProcess(args(out));
        assert.ok(isOneLineError(r), `exit ${r.code}, stderr: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.equal(fs.existsSync(out), false);
      });
    }
    test('an existing folder that is not a combined model is never replaced', async () => {
      const r = await runInProcess(['combine', A, B, '--data', data, ...LABELS, '--method', 'mean', '--out', notOurs]);
      assert.ok(isOneLineError(r), r.stderr);
      assert.match(r.stderr, /not-ours: is not a bertfuse output \(no bertfuse-files\.json; it holds "keep\.txt"\); refusing to replace it/);
      assert.equal(fs.readFileSync(path.join(notOurs, 'keep.txt'), 'utf8'), 'precious');
      assert.deepEqual(fs.readdirSync(root).filter((f) => f.startsWith('.bertfuse-tmp')), []);
    });
  });
});
