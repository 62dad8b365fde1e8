/**
 * Distillation quality, measured (issue #13): gain retention = (student − best member) /
 * (teacher − best member) on held-out rows, in accuracy and in log-loss, with paired-bootstrap
 * intervals. Too slow for `npm test` (each training run takes minutes on 2 cores), so it is a
 * script:
 *
 *   node --import tsx scripts/distill-quality.ts [--pair bert|roberta] [--out out/distill-quality]
 *
 * Data (all in data/, see README "Distillation quality"):
 * - transfer texts: data/sst2_transfer.txt (SST-2 train sentences, no SST-2 dev row among them);
 * - tuning rows (every hyper-parameter is chosen here, by log-loss against the gold labels — never
 *   on the scoring rows): BERT pair data/sst2_tune.tsv (990 labelled SST-2 train rows from the half
 *   sibling-a was NOT trained on, not in the transfer set, not overlapping a dev row); RoBERTa pair
 *   data/mr_tune.tsv (1,000 MR sentences that neither is, nor contains, an SST-2 dev row: the
 *   RoBERTa siblings split SST-2 train between them and were not fine-tuned on MR);
 * - scoring rows: data/sst2_dev.tsv (872) and data/sst2_dev_not_mr.tsv (the 181 of them whose text
 *   is not an MR sentence).
 *
 * Tuning is coordinate search, one seed: learning rate at T = 2, then temperature at the best rate
 * (α has no effect: the transfer set is unlabelled). Every run is cached in its own folder, so a
 * second invocation only re-scores.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TextInput } from '../src/checkpoint/tokenizer.js';
import { loadCheckpoint } from '../src/checkpoint/load.js';
import { readLabelled } from '../src/data/labelled.js';
import { distill } from '../src/distill/distill.js';
import { scoreRetention, type ScoreRetention } from '../src/distill/retention.js';
import { bootstrap, scoreIntervals, type Interval } from '../src/eval/bootstrap.js';
import { accuracy, logLoss } from '../src/eval/metrics.js';
import { datasetFlops } from '../src/architectures/flops.js';
import { alignLabels } from '../src/members/labels.js';
import { merge } from '../src/merge/merge.js';
import { loadMergeRecipe } from '../src/recipe/merge.js';
import { loadClassifier } from '../src/runtime/classifier.js';
import { renderTable } from '../src/util/table.js';

interface StudentSpec {
  readonly name: string;
  /** A member folder or `merge:<recipe>`. */
  readonly student: string;
  readonly layers?: number;
}

interface PairSpec {
  readonly members: readonly string[];
  readonly students: readonly StudentSpec[];
  /** Label names of the scoring files' integer labels, and the aligned label order. */
  readonly labels: readonly string[];
  /** Labelled rows every hyper-parameter is chosen on (disjoint from the scoring rows). */
  readonly tune: string;
  /** Recipes this pair's merge students read, written into the output folder. */
  readonly recipes?: Readonly<Record<string, string>>;
}

const abs = (p: string): string => JSON.stringify(path.resolve(p));

const PAIRS: Readonly<Record<string, PairSpec>> = {
  bert: {
    members: ['fixtures/sst2-sibling-a', 'fixtures/sst2-stranger-b'],
    labels: ['negative', 'positive'],
    // Rows sibling-a never saw (stranger-b saw the MR sentences they come from).
    tune: 'data/sst2_tune.tsv',
    students: [
      { name: 'from sibling-a', student: 'fixtures/sst2-sibling-a' },
      { name: 'from sibling-a, 1 of 2 layers', student: 'fixtures/sst2-sibling-a', layers: 1 },
      { name: 'from stranger-b', student: 'fixtures/sst2-stranger-b' },
    ],
  },
  roberta: {
    members: ['fixtures/family/roberta-sst2-a', 'fixtures/family/roberta-sst2-b'],
    labels: ['negative', 'positive'],
    // The siblings split SST-2 train between them, so no SST-2 train row is new to both: MR rows
    // (neither was fine-tuned on MR) that are not, and do not contain, an SST-2 dev row.
    tune: 'data/mr_tune.tsv',
    students: [
      { name: 'from roberta-sst2-a', student: 'fixtures/family/roberta-sst2-a' },
      { name: 'merge (linear), then heal', student: 'merge:linear.yaml' },
    ],
    recipes: {
      'linear.yaml': `merge_method: linear\nmodels:\n  - model: ${abs('fixtures/family/roberta-sst2-a')}\n    parameters: { weight: 0.5 }\n  - model: ${abs('fixtures/family/roberta-sst2-b')}\n    parameters: { weight: 0.5 }\n`,
    },
  },
};

const TRANSFER = 'data/sst2_transfer.txt';
const SCORING = ['data/sst2_dev.tsv', 'data/sst2_dev_not_mr.tsv'];
const LEARNING_RATES = [2e-4, 5e-4, 1e-3, 2e-3];
const TEMPERATURES = [1, 2, 4];
const EPOCHS = 3;
const SEED = 0;
const MAX_MINUTES = 8;
const RESAMPLES = 2000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Probabilities [n, k] in `labels` order. */
async function probsOf(model: string, inputs: readonly TextInput[], labels: readonly string[]): Promise<Float64Array> {
  const c = await loadClassifier(model);
  try {
    const p = await c.predictProba(inputs);
    const map = alignLabels(c.labels, labels, model);
    const kc = c.labels.length;
    const out = new Float64Array(inputs.length * labels.length);
    for (let i = 0; i < inputs.length; i++) for (let j = 0; j < labels.length; j++) out[i * labels.length + j] = p[i * kc + map[j]!]!;
    return out;
  } finally {
    await c.close();
  }
}

/** Inference FLOPs of a folder on these rows (its own tokenizer decides the lengths). */
function flopsOf(model: string, inputs: readonly TextInput[], k: number): number {
  const ckpt = loadCheckpoint(model);
  try {
    return datasetFlops(ckpt.config, inputs.map((t) => ckpt.tokenizer.encode(t).inputIds.length), k);
  } finally {
    ckpt.close();
  }
}

function meanOf(ps: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(ps[0]!.length);
  for (const p of ps) for (let i = 0; i < out.length; i++) out[i] += p[i]! / ps.length;
  return out;
}

interface Run {
  readonly lr: number;
  readonly temperature: number;
  readonly folder: string;
  readonly seconds: number;
  readonly steps: number;
  readonly tuneLogLoss: number;
  readonly tuneAccuracy: number;
}

async function runOnce(pair: PairSpec, s: StudentSpec, lr: number, temperature: number, dir: string, tune: { inputs: readonly TextInput[]; gold: Int32Array }): Promise<Run> {
  const slug = `${s.name.replace(/[^a-z0-9]+/gi, '-')}-lr${lr}-T${temperature}`;
  const folder = path.join(dir, slug);
  const record = path.join(dir, `${slug}.run.json`);
  if (fs.existsSync(record) && fs.existsSync(folder)) return JSON.parse(fs.readFileSync(record, 'utf8')) as Run;
  fs.rmSync(folder, { recursive: true, force: true });
  fs.rmSync(`${path.resolve(folder)}.bertfuse-train.safetensors`, { force: true });
  log(`train ${s.name}: lr ${lr}, T ${temperature}, ${EPOCHS} epochs`);
  const student = s.student.startsWith('merge:') ? `merge:${path.join(dir, s.student.slice('merge:'.length))}` : s.student;
  const o = await distill({
    teacher: pair.members,
    method: 'mean',
    student,
    ...(s.layers !== undefined ? { studentLayers: s.layers } : {}),
    texts: TRANSFER,
    temperature,
    learningRate: lr,
    epochs: EPOCHS,
    seed: SEED,
    maxMinutes: MAX_MINUTES,
    // The README's table was measured before dropout became distill's default: keep it reproducible.
    dropout: false,
    out: folder,
  });
  const k = pair.labels.length;
  const p = await probsOf(folder, tune.inputs, pair.labels);
  const run: Run = { lr, temperature, folder, seconds: o.seconds, steps: o.train.steps, tuneLogLoss: logLoss(p, tune.gold, k), tuneAccuracy: accuracy(p, tune.gold, k) };
  log(`  ${o.train.steps} steps (${o.train.stoppedBy}), ${o.seconds.toFixed(0)} s; tune log-loss ${run.tuneLogLoss.toFixed(4)}, accuracy ${(100 * run.tuneAccuracy).toFixed(2)}%`);
  fs.writeFileSync(record, JSON.stringify(run, null, 2) + '\n');
  return run;
}

/** Coordinate search on the tuning rows: learning rate at T = 2, then temperature at that rate. */
async function tuneStudent(pair: PairSpec, s: StudentSpec, dir: string, tune: { inputs: readonly TextInput[]; gold: Int32Array }): Promise<{ best: Run; runs: Run[] }> {
  const runs: Run[] = [];
  const better = (a: Run, b: Run | null): boolean => b === null || a.tuneLogLoss < b.tuneLogLoss;
  let best: Run | null = null;
  for (const lr of LEARNING_RATES) {
    const r = await runOnce(pair, s, lr, 2, dir, tune);
    runs.push(r);
    if (better(r, best)) best = r;
  }
  const lr = best!.lr;
  for (const t of TEMPERATURES.filter((t) => t !== 2)) {
    const r = await runOnce(pair, s, lr, t, dir, tune);
    runs.push(r);
    if (better(r, best)) best = r;
  }
  return { best: best!, runs };
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const pctInt = (i: Interval): string => `${(100 * i.low).toFixed(1)}–${(100 * i.high).toFixed(1)}`;
const ratio = (r: ScoreRetention): string =>
  r.retention === null ? 'teacher not better' : `${(100 * r.retention).toFixed(0)}% [${(100 * r.ci!.low).toFixed(0)}, ${(100 * r.ci!.high).toFixed(0)}]${r.determined ? '' : ' undetermined'}`;

async function main(): Promise<void> {
  const pairName = arg('pair', 'bert');
  const pair = PAIRS[pairName];
  if (!pair) throw new Error(`--pair must be one of ${Object.keys(PAIRS).join(', ')}`);
  const dir = path.resolve(arg('out', 'out/distill-quality'), pairName);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(pair.recipes ?? {})) fs.writeFileSync(path.join(dir, name), text);
  const k = pair.labels.length;
  const tuneData = readLabelled(pair.tune, { labels: pair.labels });
  const tune = { inputs: tuneData.inputs, gold: tuneData.labels };

  const chosen: { spec: StudentSpec; best: Run; runs: Run[] }[] = [];
  for (const s of pair.students) chosen.push({ spec: s, ...(await tuneStudent(pair, s, dir, tune)) });

  const memberNames = pair.members.map((m) => path.basename(m));
  const results: Record<string, unknown>[] = [];
  for (const file of SCORING) {
    const data = readLabelled(file, { labels: pair.labels });
    const probs = new Map<string, Float64Array>();
    const flops = new Map<string, number>();
    for (const [i, m] of pair.members.entries()) {
      probs.set(memberNames[i]!, await probsOf(m, data.inputs, pair.labels));
      flops.set(memberNames[i]!, flopsOf(m, data.inputs, k));
    }
    probs.set('teacher', meanOf(memberNames.map((m) => probs.get(m)!)));
    flops.set('teacher', memberNames.reduce((s, m) => s + flops.get(m)!, 0));
    // A merge student's starting point (the merge before healing) is scored too.
    const starts = new Map<string, string>();
    for (const c of chosen.filter((c) => c.spec.student.startsWith('merge:'))) {
      const recipe = c.spec.student.slice('merge:'.length);
      const merged = path.join(dir, `${recipe.replace(/\.ya?ml$/, '')}-merged`);
      if (!fs.existsSync(path.join(merged, 'config.json'))) await merge({ ...loadMergeRecipe(path.join(dir, recipe)), onnx: false }, { out: merged });
      const name = `${c.spec.name.replace(/, then heal$/, '')}, before healing`;
      starts.set(c.spec.name, name);
      probs.set(name, await probsOf(merged, data.inputs, pair.labels));
      flops.set(name, flopsOf(merged, data.inputs, k));
    }
    for (const c of chosen) {
      probs.set(c.spec.name, await probsOf(c.best.folder, data.inputs, pair.labels));
      flops.set(c.spec.name, flopsOf(c.best.folder, data.inputs, k));
    }
    const b = bootstrap(probs, data.labels, k, { seed: 0, resamples: RESAMPLES });
    const scores = new Map([...probs].map(([name, p]) => [name, { accuracy: accuracy(p, data.labels, k), logLoss: logLoss(p, data.labels, k) }] as const));
    const cheapest = Math.min(...memberNames.map((m) => flops.get(m)!));
    const rows = [...probs.keys()].map((name) => {
      const ci = scoreIntervals(b, name);
      const s = scores.get(name)!;
      const student = chosen.find((c) => c.spec.name === name);
      const acc = student ? scoreRetention(b, scores, { student: name, teacher: 'teacher', members: memberNames }, 'accuracy') : null;
      const ll = student ? scoreRetention(b, scores, { student: name, teacher: 'teacher', members: memberNames }, 'logLoss') : null;
      // The same ratio against the member (or merge) the student started from (full depth only): what distillation added to it.
      const start = student && student.spec.layers === undefined ? (starts.get(name) ?? memberNames.find((m) => path.basename(student.spec.student) === m)) : undefined;
      const llStart = start ? scoreRetention(b, scores, { student: name, teacher: 'teacher', members: [start] }, 'logLoss') : null;
      return {
        name,
        accuracy: s.accuracy,
        accuracyCi: ci.accuracy,
        logLoss: s.logLoss,
        logLossCi: ci.logLoss,
        cost: flops.get(name)! / cheapest,
        ...(student ? { lr: student.best.lr, temperature: student.best.temperature, seconds: student.best.seconds, accuracyRetention: acc, logLossRetention: ll, logLossRetentionVsStart: llStart } : {}),
      };
    });
    results.push({ file, rows: data.inputs.length, models: rows });
    console.log(`\n${file} (${data.inputs.length} rows; 95% paired bootstrap, ${RESAMPLES} rounds, seed 0)`);
    console.log(
      renderTable(
        ['model', 'accuracy [95% CI]', 'log-loss [95% CI]', 'acc. retention [CI]', 'log-loss retention [CI]', 'log-loss vs its start [CI]', 'cost'],
        rows.map((r) => [
          r.name,
          `${pct(r.accuracy)} [${pctInt(r.accuracyCi)}]`,
          `${r.logLoss.toFixed(4)} [${r.logLossCi.low.toFixed(3)}–${r.logLossCi.high.toFixed(3)}]`,
          r.accuracyRetention ? ratio(r.accuracyRetention) : '–',
          r.logLossRetention ? ratio(r.logLossRetention) : '–',
          r.logLossRetentionVsStart ? ratio(r.logLossRetentionVsStart) : '–',
          `${r.cost.toFixed(2)}×`,
        ]),
      ),
    );
    const any = rows.find((r) => r.accuracyRetention)!;
    for (const key of ['accuracyRetention', 'logLossRetention'] as const) {
      const g = any[key]!;
      console.log(`teacher gain over ${g.bestMember} in ${g.key}: ${g.key === 'accuracy' ? `${(100 * (g.teacher - g.best)).toFixed(2)} pts` : (g.best - g.teacher).toFixed(4)} [CI ${g.key === 'accuracy' ? `${(100 * g.teacherGainCi.low).toFixed(2)} to ${(100 * g.teacherGainCi.high).toFixed(2)} pts` : `${g.teacherGainCi.low.toFixed(4)} to ${g.teacherGainCi.high.toFixed(4)}`}]${g.determined ? '' : ' — reaches 0: the ratio is undetermined'}`);
    }
  }
  console.log(`\ntuning runs (${pair.tune}; chosen = lowest log-loss):`);
  console.log(
    renderTable(
      ['student', 'lr', 'T', 'steps', 'seconds', 'tune log-loss', 'tune accuracy', 'chosen'],
      chosen.flatMap((c) => c.runs.map((r) => [c.spec.name, String(r.lr), String(r.temperature), r.steps, Math.round(r.seconds), r.tuneLogLoss.toFixed(4), pct(r.tuneAccuracy), r === c.best ? '*' : ''])),
    ),
  );
  const json = path.join(dir, 'results.json');
  fs.writeFileSync(json, JSON.stringify({ pair: pairName, members: pair.members, transfer: TRANSFER, tune: pair.tune, epochs: EPOCHS, seed: SEED, resamples: RESAMPLES, students: chosen, scoring: results }, null, 2) + '\n');
  log(`wrote ${json}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
