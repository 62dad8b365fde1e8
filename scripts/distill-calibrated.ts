/**
 * Gain retention after calibration (issue #13): is a student's log-loss edge only confidence? Every
 * model — each member, the mean teacher (its averaged probabilities) and each student — gets its
 * own temperature (Guo et al. 2017), fitted on the tuning rows, then all are scored on the held-out
 * rows, raw and temperature-scaled, with gain retention and its 95% paired-bootstrap interval both
 * ways. Averaging two over-confident members is itself a calibration; this shows how much of a
 * teacher's gain, and of a student's, survives once every model is calibrated alike.
 *
 *   node --import tsx scripts/distill-calibrated.ts --members a,b [--tune data/mr_tune.tsv] [--data data/mr_heldout.tsv] <student folder>...
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readLabelled } from '../src/data/labelled.js';
import { scoreRetention } from '../src/distill/retention.js';
import { bootstrap } from '../src/eval/bootstrap.js';
import { accuracy, logLoss } from '../src/eval/metrics.js';
import { logSoftmax } from '../src/fusion/log-probs.js';
import { fitTemperature } from '../src/fusion/temperature.js';
import { renderTable } from '../src/util/table.js';
import { meanOf, probsOf } from './aligned-probs.js';

const LABELS = ['negative', 'positive'];
const TEACHER = 'teacher (mean)';
const RESAMPLES = 2000;

/** Log-probabilities, a zero clamped so that its log stays finite. */
const logsOf = (p: Float64Array): Float64Array => p.map((x) => Math.log(Math.max(x, 1e-30)));

/** Probabilities [n, k] rescaled at temperature T: softmax(log p / T). */
export function atTemperature(p: Float64Array, k: number, t: number): Float64Array {
  return logSoftmax(logsOf(p), k, t).map(Math.exp);
}

/** The temperature minimising log-loss of softmax(log p / T) on labelled rows. */
export function temperatureOf(p: Float64Array, gold: ArrayLike<number>, k: number): number {
  return fitTemperature(logsOf(p), gold, k);
}

async function main(): Promise<void> {
  const { values, positionals: students } = parseArgs({
    options: {
      members: { type: 'string' },
      tune: { type: 'string', default: 'data/mr_tune.tsv' },
      data: { type: 'string', default: 'data/mr_heldout.tsv' },
    },
    allowPositionals: true,
  });
  const members = (values.members ?? '').split(',').filter(Boolean);
  if (members.length < 2 || students.length === 0) throw new Error('give --members a,b and the student folders');
  const k = LABELS.length;
  const tune = readLabelled(values.tune, { labels: LABELS });
  const data = readLabelled(values.data, { labels: LABELS });
  const names = [...members.map((m) => path.basename(m)), TEACHER, ...students.map((s) => path.basename(s))];
  const onTune = new Map<string, Float64Array>();
  const onData = new Map<string, Float64Array>();
  for (const m of members) {
    onTune.set(path.basename(m), await probsOf(m, tune.inputs, LABELS));
    onData.set(path.basename(m), await probsOf(m, data.inputs, LABELS));
  }
  onTune.set(TEACHER, meanOf(members.map((m) => onTune.get(path.basename(m))!)));
  onData.set(TEACHER, meanOf(members.map((m) => onData.get(path.basename(m))!)));
  for (const s of students) {
    onTune.set(path.basename(s), await probsOf(s, tune.inputs, LABELS));
    onData.set(path.basename(s), await probsOf(s, data.inputs, LABELS));
  }
  const temperature = new Map(names.map((n) => [n, temperatureOf(onTune.get(n)!, tune.labels, k)] as const));
  const calibrated = new Map(names.map((n) => [n, atTemperature(onData.get(n)!, k, temperature.get(n)!)] as const));

  const retention = (set: Map<string, Float64Array>): Map<string, string> => {
    const b = bootstrap(set, data.labels, k, { seed: 0, resamples: RESAMPLES });
    const scores = new Map([...set].map(([n, p]) => [n, { accuracy: accuracy(p, data.labels, k), logLoss: logLoss(p, data.labels, k) }] as const));
    const out = new Map<string, string>();
    const memberNames = members.map((m) => path.basename(m));
    const t = scoreRetention(b, scores, { student: TEACHER, teacher: TEACHER, members: memberNames }, 'logLoss');
    out.set(TEACHER, `gain ${(t.best - t.teacher).toFixed(4)} [${t.teacherGainCi.low.toFixed(4)}, ${t.teacherGainCi.high.toFixed(4)}]${t.determined ? '' : ' (reaches 0)'}`);
    for (const s of students.map((x) => path.basename(x))) {
      const r = scoreRetention(b, scores, { student: s, teacher: TEACHER, members: memberNames }, 'logLoss');
      out.set(s, r.retention === null ? 'teacher not better' : `${(100 * r.retention).toFixed(0)}% [${(100 * r.ci!.low).toFixed(0)}, ${(100 * r.ci!.high).toFixed(0)}]${r.determined ? '' : ' undetermined'}`);
    }
    return out;
  };
  const raw = retention(onData);
  const cal = retention(calibrated);
  console.log(`${values.data} (${data.inputs.length} rows); temperatures fitted on ${values.tune} (${tune.inputs.length} rows); 95% paired bootstrap, ${RESAMPLES} rounds, seed 0`);
  console.log(
    renderTable(
      ['model', 'log-loss', 'retention', 'T', 'log-loss at T', 'retention at T'],
      names.map((n) => [n, logLoss(onData.get(n)!, data.labels, k).toFixed(4), raw.get(n) ?? '–', temperature.get(n)!.toFixed(2), logLoss(calibrated.get(n)!, data.labels, k).toFixed(4), cal.get(n) ?? '–']),
    ),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
