/**
 * Where the BERT pair's teacher gains, and where its students fall short (issue #13). The scoring
 * rows are split by one fact: is the row, word for word, an MR sentence — a sentence
 * `sst2-stranger-b` was trained on — or not. On each part the members, the mean teacher and the
 * given students are scored with 95% paired-bootstrap intervals, and each student's gain retention
 * is computed two ways: against the part's own best member (re-chosen in every round), and against
 * stranger-b, the best member of the whole set, so the parts add up to the headline ratio: a
 * part's share of the teacher's gain over stranger-b is its rows' summed gain.
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
import { probsOf } from './aligned-probs.js';

const LABELS = ['negative', 'positive'];
const MEMBERS = { 'sst2-sibling-a': 'fixtures/sst2-sibling-a', 'sst2-stranger-b': 'fixtures/sst2-stranger-b' } as const;
const MEMORISED_BY = 'sst2-stranger-b';
const TEACHER = 'teacher (mean)';
const RESAMPLES = 2000;
const MR_FILES = ['rt-polarity.pos', 'rt-polarity.neg'];

/** MR's sentences in match form. Latin-1 with stray 0x85 bytes: split on \n alone. */
export function mrForms(dir: string): Set<string> {
  const out = new Set<string>();
  for (const f of MR_FILES) {
    for (const line of fs.readFileSync(path.join(dir, f), 'latin1').split('\n')) if (line.trim()) out.add(matchForm(line.trim()));
  }
  return out;
}

/** Row indices of `texts` that are (in match form) a sentence of `sentences`, and the others. */
export function splitRows(texts: readonly string[], sentences: ReadonlySet<string>): { inside: number[]; outside: number[] } {
  const inside: number[] = [];
  const outside: number[] = [];
  texts.forEach((t, i) => (sentences.has(matchForm(t)) ? inside : outside).push(i));
  return { inside, outside };
}

/** Rows `idx` of a [n, k] probability matrix. */
export function pickRows(p: Float64Array, idx: readonly number[], k: number): Float64Array {
  const out = new Float64Array(idx.length * k);
  idx.forEach((r, i) => out.set(p.subarray(r * k, r * k + k), i * k));
  return out;
}

function meanOf(ps: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(ps[0]!.length);
  for (const p of ps) for (let i = 0; i < out.length; i++) out[i] += p[i]! / ps.length;
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
    const { inside, outside } = splitRows(
      data.inputs.map((t) => t.text),
      mr,
    );
    const whole = [...data.inputs.keys()];
    console.log(`\n${file}: ${data.inputs.length} rows, ${inside.length} of them an MR sentence ${MEMORISED_BY} was trained on (95% paired bootstrap, ${RESAMPLES} rounds, seed 0)`);
    const table: string[][] = [];
    for (const [part, idx] of [['all rows', whole], ['an MR sentence', inside], ['not an MR sentence', outside]] as const) {
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
