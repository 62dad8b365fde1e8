import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { transferWithout, writeIfChanged } from '../../scripts/transfer-without.js';
import { BertfuseError } from '../../src/errors.js';

const TRANSFER = 'data/distill_transfer.txt';
const EXCLUDED = 'data/distill_transfer_twin_excluded.txt';
const TWIN = 'data/sst2_slice_tune.tsv';

// The normal form scripts/build-distill-data.py decides "is / contains / is inside" on, written
// again here: lower case, SST's bracket tokens as brackets, everything but [a-z0-9] dropped.
const norm = (s: string): string => (s.toLowerCase().replaceAll('-lrb-', '(').replaceAll('-rrb-', ')').match(/[a-z0-9]+/g) ?? []).join('');
const rows = (file: string): string[] => fs.readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')[1]!);
const lines = (file: string): string[] => fs.readFileSync(file, 'utf8').replace(/\n$/, '').split('\n');

/** Whether a text is inside one of `texts`: a prefix of one of their sorted suffixes (42k look-ups in ms, not seconds). */
function insideAny(texts: readonly string[]): (s: string) => boolean {
  const suffixes = texts.flatMap((t) => Array.from(t, (_, i) => t.slice(i))).sort();
  return (s) => {
    let lo = 0;
    let hi = suffixes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (suffixes[mid]! < s) lo = mid + 1;
      else hi = mid;
    }
    return s !== '' && lo < suffixes.length && suffixes[lo]!.startsWith(s);
  };
}

test('the twin runs\' transfer set keeps every line the list does not name, in order', () => {
  const all = lines(TRANSFER);
  const named = new Set(lines(EXCLUDED).map(Number));
  const { kept, removed } = transferWithout(TRANSFER, EXCLUDED);
  assert.equal(all.length, 42678);
  assert.equal(removed, named.size);
  assert.equal(kept.length, all.length - named.size);
  assert.deepEqual(kept, all.filter((_, i) => !named.has(i + 1)));
});

test('no text left in it is, contains or is inside a slice-twin row (rule (a), checked independently)', () => {
  const twin = rows(TWIN).map(norm);
  assert.equal(twin.length, 1000);
  assert.equal(new Set(twin).size, 1000);
  const inTwin = insideAny(twin);
  const { kept } = transferWithout(TRANSFER, EXCLUDED);
  const keptJoined = kept.map(norm).join('\n');
  for (const t of twin) assert.ok(!keptJoined.includes(t), `a kept transfer text contains the twin row "${t}"`);
  for (const t of kept) assert.ok(!inTwin(norm(t)), `the kept transfer text "${t}" is inside a twin row`);
  // And the list is not padded: most of what it names breaks rule (a); the rest (rule (b), inside a
  // twin row's MR sentence) needs MR, which the repository does not hold.
  const named = new Set(lines(EXCLUDED).map(Number));
  const all = lines(TRANSFER);
  const ruleA = all.filter((t, i) => named.has(i + 1) && (inTwin(norm(t)) || twin.some((w) => norm(t).includes(w)))).length;
  assert.ok(ruleA > 0.9 * named.size, `${ruleA} of ${named.size} named lines break rule (a)`);
});

test('the slice twin shares no text with the scoring rows it stands in for', () => {
  const twin = rows(TWIN).map(norm);
  const scoring = [...rows('data/sst2_heldout.tsv'), ...rows('data/sst2_dev.tsv')].map(norm);
  const inScoring = insideAny(scoring);
  const inTwin = insideAny(twin);
  for (const t of twin) assert.ok(!inScoring(t), `twin row "${t}" is inside a scoring row`);
  for (const s of scoring) assert.ok(!inTwin(s), `scoring row "${s}" is inside a twin row`);
});

test('the SUBJ texts added for the twin runs: none is, contains or is inside a scoring, tuning or twin row, or repeats a transfer text', () => {
  const subj = lines('data/distill_transfer_subj.txt').map(norm);
  assert.ok(subj.length > 5000, `${subj.length} SUBJ texts`);
  assert.equal(new Set(subj).size, subj.length, 'no duplicates');
  const transfer = new Set(lines(TRANSFER).map(norm));
  for (const t of subj) assert.ok(!transfer.has(t), `"${t}" is already a transfer text`);
  const held = [...rows('data/sst2_heldout.tsv'), ...rows('data/sst2_dev.tsv'), ...rows(TWIN)].map(norm);
  const inHeld = insideAny(held);
  const joined = subj.join('\n');
  for (const h of held) assert.ok(!joined.includes(h), `a SUBJ text contains the scoring or twin row "${h}"`);
  for (const t of subj) assert.ok(!inHeld(t), `the SUBJ text "${t}" is inside a scoring or twin row`);
  const tuning = new Set([...rows('data/sst2_tune.tsv'), ...rows('data/mr_tune.tsv')].map(norm));
  for (const t of subj) assert.ok(!tuning.has(t), `the SUBJ text "${t}" is a tuning row`);
});

test('a list that does not fit the transfer file fails in one line naming it; the reduced set is written once', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-transfer-without-'));
  const texts = path.join(dir, 'texts.txt');
  fs.writeFileSync(texts, 'a\nb\nc\n');
  const bad = (content: string, re: RegExp): void => {
    const list = path.join(dir, 'list.txt');
    fs.writeFileSync(list, content);
    assert.throws(() => transferWithout(texts, list), (e: unknown) => e instanceof BertfuseError && e.code === 'E_BAD_DATA' && e.message.startsWith(list) && re.test(e.message));
  };
  bad('4\n', /line 1: "4" is not a line number of .*\(1 to 3\)/);
  bad('2\n2\n', /line 2: "2"/);
  bad('3\n1\n', /line 2: "1"/);
  bad('x\n', /line 1: "x"/);
  const list = path.join(dir, 'ok.txt');
  fs.writeFileSync(list, '2\n');
  const out = path.join(dir, 'out.txt');
  const { kept, removed } = transferWithout(texts, list);
  assert.deepEqual({ kept, removed }, { kept: ['a', 'c'], removed: 1 });
  writeIfChanged(out, `${kept.join('\n')}\n`);
  assert.equal(fs.readFileSync(out, 'utf8'), 'a\nc\n');
  const mtime = fs.statSync(out).mtimeMs;
  fs.utimesSync(out, 0, 0);
  writeIfChanged(out, 'a\nc\n');
  assert.equal(fs.statSync(out).mtimeMs, 0, 'an unchanged set is not rewritten');
  assert.ok(mtime > 0);
  writeIfChanged(out, 'a\nc\nd\n');
  assert.equal(fs.readFileSync(out, 'utf8'), 'a\nc\nd\n', 'a changed set is rewritten');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the sibling pairs\' MR held-out rows: no sibling trained on them, MR\'s labels, apart from every tuning and scoring row (checked independently)', () => {
  const held = fs.readFileSync('data/mr_heldout.tsv', 'utf8').trim().split('\n').slice(1).map((l) => {
    const [label, text] = l.split('\t') as [string, string];
    return { label: Number(label), text, n: norm(text) };
  });
  assert.ok(held.length > 2500, `${held.length} rows`);
  assert.equal(new Set(held.map((h) => h.n)).size, held.length, 'no duplicates');
  // Labels are MR's own: the file a sentence comes from.
  const shared = path.join('..', 'shared', 'data');
  const mr = new Map<string, number>();
  for (const [file, label] of [['rt-polarity.pos', 1], ['rt-polarity.neg', 0]] as const) {
    for (const line of fs.readFileSync(path.join(shared, file), 'latin1').split('\n')) if (line.trim()) mr.set(norm(line), label);
  }
  for (const h of held) assert.equal(mr.get(h.n), h.label, `"${h.text}" is not an MR sentence with label ${h.label}`);
  // Neither sibling was trained on it: no SST-2 train row is the sentence or holds it (each sibling
  // trained on a half of SST-2 train), and none inside it covers 30% of it or more.
  const train = fs.readFileSync(path.join(shared, 'sst2_train.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => norm(l.split('\t')[1]!));
  const inTrain = insideAny(train.filter((t) => t.length >= Math.min(...held.map((h) => h.n.length))));
  const heldJoined = held.map((h) => h.n).join('\n');
  for (const h of held) assert.ok(!inTrain(h.n), `"${h.text}" is an SST-2 train row or inside one`);
  const longest = new Map<number, number>();
  const starts: number[] = [];
  let pos = 0;
  for (const h of held) {
    starts.push(pos);
    pos += h.n.length + 1;
  }
  const rowAt = (i: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  for (const t of new Set(train)) {
    if (t.length < 10) continue;
    for (let i = heldJoined.indexOf(t); i >= 0; i = heldJoined.indexOf(t, i + 1)) {
      const r = rowAt(i);
      longest.set(r, Math.max(longest.get(r) ?? 0, t.length));
    }
  }
  for (const [r, len] of longest) assert.ok(len < 0.3 * held[r]!.n.length, `"${held[r]!.text}" holds an SST-2 train row of ${len} of its ${held[r]!.n.length} characters`);
  // Apart from the tuning rows (and the twin) and from the scoring rows of every pair.
  const other = [...rows('data/sst2_tune.tsv'), ...rows('data/mr_tune.tsv'), ...rows(TWIN), ...rows('data/sst2_dev.tsv'), ...rows('data/sst2_heldout.tsv')].map(norm);
  const inOther = insideAny(other);
  for (const o of other) assert.ok(!heldJoined.includes(o), `a held-out MR row contains the tuning or scoring row "${o}"`);
  for (const h of held) assert.ok(!inOther(h.n), `"${h.text}" is inside a tuning or scoring row`);
  // The runs scored on them train on no text that is, contains or is inside one of them.
  const { kept, removed } = transferWithout(TRANSFER, 'data/distill_transfer_mr_heldout_excluded.txt');
  assert.ok(removed >= held.length, 'every held-out row was a transfer text, and is left out');
  const inHeld = insideAny(held.map((h) => h.n));
  const keptJoined = kept.map(norm).join('\n');
  for (const h of held) assert.ok(!keptJoined.includes(h.n), `a kept transfer text contains the held-out row "${h.text}"`);
  for (const t of kept) assert.ok(!inHeld(norm(t)), `the kept transfer text "${t}" is inside a held-out MR row`);
});
