/**
 * Combined folders whose bertfuse.json disagrees with itself or with its graph: label count vs the
 * width of `logits`, duplicate labels, members misaligned, tokenizer groups vs graph inputs, member
 * outputs missing from the graph. Each is refused by `predict` in one line naming the manifest, in
 * bounded time, with the folder unchanged.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { editJson } from '../helpers/corrupt.js';
import { tempDir } from '../helpers/fixtures.js';
import { combinedFolder, smallTsv } from './artifacts.js';
import { BoundedCli, assertOneLineRefusal, unchanged } from './bounded.js';

const root = tempDir('bertfuse-hostile-manifest-');
const cli = new BoundedCli();
after(() => cli.close());

interface Member {
  name: string;
  labels: string[];
  alignment: number[];
  output: string;
  group: number;
}
interface Manifest {
  labels: string[];
  model: { outputs: string[]; inputs: string[] };
  tokenizers: { suffix: string; group: number }[];
  members: (Member | null)[];
}
type Edit = (m: Manifest) => void;
const member = (m: Manifest, i: number): Member => m.members[i]!;

/** `names: 'dir'`: the line names a file of the folder other than the manifest (the graph), and says it disagrees with bertfuse.json. */
const CASES: readonly { name: string; edit: Edit; pattern: RegExp; names?: 'dir' }[] = [
  { name: 'three labels for a two-column logits (members extended to match)', edit: (m) => {
    m.labels.push('neutral');
    for (const x of m.members) {
      x!.labels.push('neutral');
      x!.alignment.push(2);
    }
  }, pattern: /output "logits" has 2 columns but "labels" lists 3 names \(.*disagrees with the manifest\)/ },
  { name: 'three labels, members left with two', edit: (m) => m.labels.push('neutral'), pattern: /members\[0\] .* has 2 labels but the model has 3/ },
  { name: 'one label short', edit: (m) => {
    m.labels = [m.labels[0]!, m.labels[0]! + '-x'];
    m.labels.pop();
  }, pattern: /at least two names|fewer than two/ },
  { name: 'duplicate labels', edit: (m) => (m.labels = [m.labels[0]!, m.labels[0]!]), pattern: /"labels" lists "negative" twice/ },
  { name: 'a member output that the graph lacks', edit: (m) => {
    member(m, 1).output = 'ghost_logits';
    m.model.outputs.push('ghost_logits');
  }, pattern: /bertfuse\.json.*ghost_logits/, names: 'dir' },
  { name: 'a member output not listed in model.outputs', edit: (m) => (member(m, 0).output = 'elsewhere'), pattern: /members\[0\] .* output "elsewhere" is not one of "model\.outputs"/ },
  { name: 'a member whose output is the fused logits', edit: (m) => (member(m, 0).output = 'logits'), pattern: /output "logits" is not one of "model\.outputs" besides "logits"/ },
  { name: 'two members on the same output', edit: (m) => (member(m, 1).output = member(m, 0).output), pattern: /is also another member's/ },
  { name: 'two members with the same name', edit: (m) => (member(m, 1).name = member(m, 0).name), pattern: /two members are named/ },
  { name: 'alignment that is not a permutation', edit: (m) => (member(m, 0).alignment = [0, 0]), pattern: /alignment \[0, 0\] is not a permutation of its 2 classes/ },
  { name: 'alignment pointing past the classes', edit: (m) => (member(m, 1).alignment = [0, 7]), pattern: /alignment \[0, 7\] is not a permutation/ },
  { name: 'alignment of the wrong length', edit: (m) => (member(m, 1).alignment = [1]), pattern: /alignment has 1 entries for 2 labels/ },
  { name: 'a member in a tokenizer group that does not exist', edit: (m) => (member(m, 1).group = 5), pattern: /uses tokenizer group 5, but there are 2/ },
  { name: 'a tokenizer group whose suffix the graph does not take', edit: (m) => (m.tokenizers[1]!.suffix = '_other'), pattern: /tokenizer group 1 feeds "input_ids_other", which the graph does not take/ },
  { name: 'two tokenizer groups with the same suffix', edit: (m) => (m.tokenizers[1]!.suffix = m.tokenizers[0]!.suffix), pattern: /two tokenizer groups use the input suffix/ },
  { name: "a tokenizer group dropped while the graph still takes its inputs", edit: (m) => {
    m.tokenizers.pop();
    for (const x of m.members) x!.group = 0;
  }, pattern: /the graph needs inputs no tokenizer group feeds: input_ids_1|graph needs inputs .*_1/ },
  { name: 'model.outputs without logits', edit: (m) => (m.model.outputs = m.model.outputs.filter((o) => o !== 'logits')), pattern: /"model\.outputs" does not list "logits"/ },
  { name: 'a member entry that is null', edit: (m) => (m.members[1] = null), pattern: /members\[1\] is not an object/ },
];

describe('combined manifests that disagree with their graph are refused', () => {
  let good = '';
  let n = 0;
  before(async () => {
    good = await combinedFolder(path.join(root, 'combined'), smallTsv(root));
    const m = JSON.parse(fs.readFileSync(path.join(good, 'bertfuse.json'), 'utf8')) as Manifest;
    assert.equal(m.tokenizers.length, 2, 'two tokenizer groups (members with different tokenizers)');
    assert.deepEqual(m.labels, ['negative', 'positive']);
  });
  for (const c of CASES) {
    test(c.name, async () => {
      const dir = path.join(root, `case-${++n}`);
      fs.cpSync(good, dir, { recursive: true });
      const manifest = path.join(dir, 'bertfuse.json');
      editJson(manifest, (j) => c.edit(j as unknown as Manifest));
      const r = await unchanged(dir, () => cli.run(['predict', dir, '--text', 'a fine film']));
      assertOneLineRefusal(r, { names: c.names === 'dir' ? dir : manifest, pattern: c.pattern });
    });
  }

  test('the untouched folder predicts', async () => {
    const r = await cli.run(['predict', good, '--text', 'a gorgeous , witty movie .', '--json']);
    assert.equal(r.code, 0, r.stderr);
  });
});
