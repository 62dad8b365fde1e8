import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readLabelled } from '../../src/data/labelled.js';
import { mrForms, pickRows, splitRows } from '../../scripts/distill-split.js';
import { DATA, ROOT, tempDir } from '../helpers/fixtures.js';

test('MR is read as Latin-1 and split on \\n alone: a stray 0x85 byte stays inside its sentence', () => {
  const dir = tempDir();
  // "caf\xe9 ... \x85 still one line", then a PTB-style line; 0x85 is NEL, which splitlines-style splitting would break on.
  fs.writeFileSync(path.join(dir, 'rt-polarity.pos'), Buffer.from([...Buffer.from('a caf'), 0xe9, ...Buffer.from(' film '), 0x85, ...Buffer.from(' still one line\n\nit does n\'t (quite) work\n')]));
  fs.writeFileSync(path.join(dir, 'rt-polarity.neg'), 'dull .\n');
  const forms = mrForms(dir);
  assert.equal(forms.size, 3);
  // é is a letter (kept); 0x85 is not (dropped), so the line is one form. .pos is label 1, .neg 0.
  assert.equal(forms.get('acaféfilmstilloneline'), 1);
  assert.equal(forms.get('itdoesntquitework'), 1);
  assert.equal(forms.get('dull'), 0);
});

test('rows are split by match form and label: case, spacing, punctuation and PTB brackets do not matter, words and labels do', () => {
  const mr = new Map([
    ['itdoesntquitework', 1],
    ['dull', 0],
  ]);
  const texts = ["It does n't -LRB- quite -RRB- work .", 'dull', 'dull indeed', "it doesn't work", 'DULL!'];
  assert.deepEqual(splitRows(texts, [1, 0, 0, 1, 1], mr), { same: [0, 1], other: [4], outside: [2, 3] });
});

test('pickRows takes whole rows of a [n, k] matrix in the order given', () => {
  const p = Float64Array.from([0.1, 0.9, 0.2, 0.8, 0.3, 0.7]);
  assert.deepEqual([...pickRows(p, [2, 0], 2)], [0.3, 0.7, 0.1, 0.9]);
  assert.equal(pickRows(p, [], 2).length, 0);
});

test('on the real files: 1,264 held-out slice rows (69 with the other label) and 731 dev rows are an MR sentence (the counts build-distill-data.py and the README report)', () => {
  const shared = path.join(ROOT, '..', 'shared', 'data');
  const mr = mrForms(shared);
  const split = (file: string): ReturnType<typeof splitRows> => {
    const d = readLabelled(path.join(DATA, file), { labels: ['negative', 'positive'] });
    return splitRows(
      d.inputs.map((t) => t.text),
      d.labels,
      mr,
    );
  };
  const slice = split('sst2_heldout.tsv');
  assert.equal(slice.same.length + slice.other.length, 1264);
  // The README's "69 of which disagree with MR's" labels.
  assert.equal(slice.other.length, 69);
  assert.equal(slice.same.length + slice.other.length + slice.outside.length, 1500);
  const dev = split('sst2_dev.tsv');
  assert.equal(dev.same.length + dev.other.length, 731);
  const twin = split('sst2_slice_tune.tsv');
  assert.equal(twin.same.length + twin.other.length, 842);
});
