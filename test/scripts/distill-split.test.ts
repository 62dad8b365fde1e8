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
  // é is a letter (kept); 0x85 is not (dropped), so the line is one form.
  assert.ok(forms.has('acaféfilmstilloneline'));
  assert.ok(forms.has('itdoesntquitework'));
  assert.ok(forms.has('dull'));
});

test('rows are split by match form: case, spacing, punctuation and PTB brackets do not matter, words do', () => {
  const mr = new Set(['itdoesntquitework', 'dull']);
  const texts = ["It does n't -LRB- quite -RRB- work .", 'dull', 'dull indeed', "it doesn't work", 'DULL!'];
  assert.deepEqual(splitRows(texts, mr), { inside: [0, 1, 4], outside: [2, 3] });
});

test('pickRows takes whole rows of a [n, k] matrix in the order given', () => {
  const p = Float64Array.from([0.1, 0.9, 0.2, 0.8, 0.3, 0.7]);
  assert.deepEqual([...pickRows(p, [2, 0], 2)], [0.3, 0.7, 0.1, 0.9]);
  assert.equal(pickRows(p, [], 2).length, 0);
});

test('on the real files: 1,264 held-out slice rows and 731 dev rows are an MR sentence (the counts build-distill-data.py reports)', () => {
  const shared = path.join(ROOT, '..', 'shared', 'data');
  const mr = mrForms(shared);
  const count = (file: string): number => splitRows(readLabelled(path.join(DATA, file), { labels: ['negative', 'positive'] }).inputs.map((t) => t.text), mr).inside.length;
  assert.equal(count('sst2_heldout.tsv'), 1264);
  assert.equal(count('sst2_dev.tsv'), 731);
  assert.equal(count('sst2_slice_tune.tsv'), 842);
});
