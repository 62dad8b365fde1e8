/**
 * Where a distilled student falls short of its teacher: KL(teacher ‖ student) on the texts it was
 * trained on (every 10th transfer text) and on labelled rows it never saw. A student far closer to
 * its teacher on the first than on the second is short of transfer data, not of capacity: more
 * passes will not help, more (or augmented) texts may. The teacher is the mean of the members'
 * probabilities (distill's `--method mean`).
 *
 *   node --import tsx scripts/distill-gap.ts --transfer <texts.txt> [--members a,b] [--rows f1.tsv,f2.tsv] <student>...
 */
import fs from 'node:fs';
import type { TextInput } from '../src/checkpoint/tokenizer.js';
import { readLabelled } from '../src/data/labelled.js';
import { renderTable } from '../src/util/table.js';
import { probsOf } from './aligned-probs.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const labels = ['negative', 'positive'];

/** Mean over rows of KL(p ‖ q) = Σ_j p_j log(p_j / q_j). */
function meanKl(p: Float64Array, q: Float64Array, rows: number): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) s += p[i]! * Math.log(p[i]! / q[i]!);
  return s / rows;
}

const flags = new Set(['--transfer', '--members', '--rows']);
const students = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !flags.has(all[i - 1] ?? ''));
const transferFile = arg('transfer', '');
if (!transferFile || students.length === 0) throw new Error('usage: distill-gap.ts --transfer <texts.txt> [--members a,b] [--rows f.tsv,…] <student>...');
const members = arg('members', 'fixtures/sst2-sibling-a,fixtures/sst2-stranger-b').split(',');
const sets: [string, TextInput[]][] = [
  [`${transferFile} (every 10th)`, fs.readFileSync(transferFile, 'utf8').split('\n').filter(Boolean).filter((_, i) => i % 10 === 0).map((text) => ({ text }))],
  ...arg('rows', 'data/sst2_slice_tune.tsv,data/sst2_heldout.tsv').split(',').map((f): [string, TextInput[]] => [f, [...readLabelled(f, { labels }).inputs]]),
];
const rows: string[][] = [];
for (const [name, inputs] of sets) {
  const ps = await Promise.all(members.map((m) => probsOf(m, inputs, labels)));
  const teacher = ps[0]!.map((_, i) => ps.reduce((s, p) => s + p[i]!, 0) / ps.length);
  const row = [name, String(inputs.length), meanKl(teacher, ps[0]!, inputs.length).toFixed(4)];
  for (const s of students) row.push(meanKl(teacher, await probsOf(s, inputs, labels), inputs.length).toFixed(4));
  rows.push(row);
}
console.log(renderTable(['rows', 'n', `KL(teacher ‖ ${members[0]})`, ...students.map((s, i) => `KL(teacher ‖ student ${i + 1})`)], rows));
students.forEach((s, i) => console.log(`student ${i + 1}: ${s}`));
