/**
 * Where the BERT pair's teacher gains, and where its students fall short (issue #13). The scoring
 * rows are split by what `sst2-stranger-b` learnt of them: the row is, word for word, an MR
 * sentence stranger-b was trained on with the label the row has; an MR sentence whose MR label is
 * the other one (stranger-b memorised the opposite of the row's SST-2 label); or no MR sentence. On
 * each part the members, the mean teacher and the given students are scored with 95%
 * paired-bootstrap intervals, and each student's gain retention is computed two ways: against the
 * part's own best member (re-chosen in every round), and against stranger-b, the best member of the
 * whole set, so the parts add up to the headline ratio: a part's share of the teacher's gain over
 * stranger-b is its rows' summed gain.
 *
 *   node --import tsx scripts/distill-split.ts [--data data/sst2_heldout.tsv,data/sst2_dev.tsv] <student folder>...
 *
 * Texts are compared on `matchForm` (lower case, PTB brackets undone, letters and digits only), as
 * `build-distill-data.py` compares them. MR is read from `../shared/data` (rt-polarity.pos/.neg).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readLabelled } from '../src/data/labelled.js';
import { matchForm } from '../src/distill/augment.js';
import { scoreRetention, type ScoreRetention } from '../src/distill/retention.js';
import { bootstrap, scoreIntervals } from '../src/eval/bootstrap.js';
import { accuracy, logLoss } from '../src/eval/metrics.js';
import { renderTable } from '../src/util/table.js';
import { meanOf, probsOf } from './aligned-probs.js';

const LABELS = ['negative', 'positive'];
const MEMBERS = { 'sst2-sibling-a': 'fixtures/sst2-sibling-a', 'sst2-stranger-b': 'fixtures/sst2-stranger-b' } as const;
const MEMORISED_BY = 'sst2-stranger-b';
const TEACHER = 'teacher (mean)';
const RESAMPLES = 2000;
const MR_FILES = ['rt-polarity.pos', 'rt-polarity.neg'];

/** MR's sentences in match form → MR's label (1 positive, 0 negative). Latin-1 with stray 0x85 bytes: split on \n alone. */
export function mrForms(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  MR_FILES.forEach((f, k) => {
    const label = k === 0 ? 1 : 0;
    for (const line of fs.readFileSync(path.join(dir, f), 'latin1').split('\n')) if (line.trim()) out.set(matchForm(line.trim()), label);
  });
  return out;
}

/** Row indices of `texts` (labels `gold`) that are, in match form, an MR sentence with the same label, one with the other label, or none. */
export function splitRows(texts: readonly string[], gold: ArrayLike<number>, sentences: ReadonlyMap<string, number>): { same: number[]; other: number[]; outside: number[] } {
  const out = { same: [] as number[], other: [] as number[], outside: [] as number[] };
  texts.forEach((t, i) => {
    const label = sentences.get(matchForm(t));
    (label === undefined ? out.outside : label === gold[i] ? out.same : out.other).push(i);
  });
  return out;
}

/** Rows `idx` of a [n, k] probability matrix. */
export function pickRows(p: Float64Array, idx: readonly number[], k: number): Float64Array {
  const out = new Float64Array(idx.length * k);
  idx.forEach((r, i) => out.set(p.subarray(r * k, r * k + k), i * k));
  return out;
}

function pct(r: ScoreRetention): string {
  if (r.retention === null) return 'teacher not better';
  return `${(100 * r.retention).toFixed(0)}% [${(100 * r.ci!.low).toFixed(0)}, ${(100 * r.ci!.high).toFixed(0)}]${r.determined ? '' : ' undetermined'}`;
}

async function main(): Promise<void> {
  const { values, positionals: students } = parseArgs({
    options: {
      data: { type: 'string', default: 'data/sst2_heldout.tsv,data/sst2_dev.tsv' },
      mr: { type: 'string', default: path.join('..', 'shared', 'data') },
    },
    allowPositionals: true,
  });
  if (students.length === 0) throw new Error('give the student folders to score');
  const k = LABELS.length;
  const mr = mrForms(values.mr);
  const memberNames = Object.keys(MEMBERS);
  for (const file of values.data.split(',')) {
    const data = readLabelled(file, { labels: LABELS });
    const probs = new Map<string, Float64Array>();
    for (const [name, folder] of Object.entries(MEMBERS)) probs.set(name, await probsOf(folder, data.inputs, LABELS));
    probs.set(TEACHER, meanOf(memberNames.map((m) => probs.get(m)!)));
    for (const s of students) probs.set(path.basename(s), await probsOf(s, data.inputs, LABELS));
    const { same, other, outside } = splitRows(
      data.inputs.map((t) => t.text),
      data.labels,
      mr,
    );
    const whole = [...data.inputs.keys()];
    console.log(`\n${file}: ${data.inputs.length} rows, ${same.length + other.length} of them an MR sentence ${MEMORISED_BY} was trained on, ${other.length} of those with MR's other label (95% paired bootstrap, ${RESAMPLES} rounds, seed 0)`);
    const table: string[][] = [];
    const parts = [
      ['all rows', whole],
      ['MR sentence, same label', same],
      ['MR sentence, MR\'s other label', other],
      ['no MR sentence', outside],
    ] as const;
    for (const [part, idx] of parts) {
      if (idx.length === 0) continue;
      const gold = idx.map((i) => data.labels[i]!);
      const sub = new Map([...probs].map(([name, p]) => [name, pickRows(p, idx, k)] as const));
      const b = bootstrap(sub, gold, k, { seed: 0, resamples: RESAMPLES });
      const scores = new Map([...sub].map(([name, p]) => [name, { accuracy: accuracy(p, gold, k), logLoss: logLoss(p, gold, k) }] as const));
      const gainOverB = (name: string): number => (scores.get(MEMORISED_BY)!.logLoss - scores.get(name)!.logLoss) * idx.length;
      for (const name of sub.keys()) {
        const ci = scoreIntervals(b, name);
        const student = !memberNames.includes(name) && name !== TEACHER;
        const own = student ? scoreRetention(b, scores, { student: name, teacher: TEACHER, members: memberNames }, 'logLoss') : null;
        const vsB = student ? scoreRetention(b, scores, { student: name, teacher: TEACHER, members: [MEMORISED_BY] }, 'logLoss') : null;
        table.push([
          `${part} (${idx.length})`,
          name,
          `${scores.get(name)!.logLoss.toFixed(4)} [${ci.logLoss.low.toFixed(3)}, ${ci.logLoss.high.toFixed(3)}]`,
          name === MEMORISED_BY ? '–' : `${gainOverB(name).toFixed(1)}`,
          own ? `${pct(own)} (vs ${own.bestMember})` : '–',
          vsB ? pct(vsB) : '–',
        ]);
      }
    }
    console.log(renderTable(['rows', 'model', 'log-loss [95% CI]', `summed gain over ${MEMORISED_BY} (nats)`, 'retention vs the part\'s best member [CI]', `retention vs ${MEMORISED_BY} [CI]`], table));
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
