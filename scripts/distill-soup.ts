/**
 * A soup of distilled students (issue #13): students trained from the same start (sst2-sibling-a)
 * with different seeds, passes or transfer sets lie in one basin, so the average of their weights
 * is one model at one member's cost that often scores better than each of them (Wortsman et al.
 * 2022, "Model soups"). The greedy recipe: candidates sorted by tuning log-loss; each is added when
 * the uniform average of the soup so far and it scores lower on the tuning rows, else left out.
 * Every choice is made on the tuning rows (the slice twin), never on the scoring rows; the soup is
 * then scored like distill-quality's students: gain retention with 95% paired-bootstrap intervals.
 *
 *   node --import tsx scripts/distill-soup.ts [--tune data/sst2_slice_tune.tsv] [--out out/distill-quality/bert-soup] [--uniform] <student folder>...
 *
 * The folders must share one start and one architecture (the linear merge checks the shapes) and
 * none may have trained on a tuning or scoring row (distill-quality's twin runs: their transfer set
 * leaves out the twin's and the slice's texts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readLabelled } from '../src/data/labelled.js';
import { scoreRetention } from '../src/distill/retention.js';
import { bootstrap, scoreIntervals } from '../src/eval/bootstrap.js';
import { accuracy, logLoss } from '../src/eval/metrics.js';
import { merge } from '../src/merge/merge.js';
import { loadMergeRecipe } from '../src/recipe/merge.js';
import { renderTable } from '../src/util/table.js';
import { meanOf, probsOf } from './aligned-probs.js';

const LABELS = ['negative', 'positive'];
const MEMBERS = ['fixtures/sst2-sibling-a', 'fixtures/sst2-stranger-b'];
const START = 'fixtures/sst2-sibling-a';
const SCORING = ['data/sst2_heldout.tsv', 'data/sst2_dev.tsv'];
const RESAMPLES = 2000;

/**
 * Greedy soup over candidates already sorted best first: `score(soup)` is the tuning loss of the
 * uniform average of a list of candidates (lower is better). Returns the ingredients kept and the
 * loss after each candidate was tried.
 */
export async function greedySoup<T>(sorted: readonly T[], score: (soup: readonly T[]) => Promise<number>): Promise<{ soup: T[]; best: number; tried: { candidate: T; loss: number; kept: boolean }[] }> {
  if (sorted.length === 0) throw new Error('greedySoup: no candidates');
  const first = sorted[0] as T;
  const soup: T[] = [first];
  let best = await score(soup);
  const tried: { candidate: T; loss: number; kept: boolean }[] = [{ candidate: first, loss: best, kept: true }];
  for (const c of sorted.slice(1)) {
    const loss = await score([...soup, c]);
    const kept = loss < best;
    if (kept) {
      soup.push(c);
      best = loss;
    }
    tried.push({ candidate: c, loss, kept });
  }
  return { soup, best, tried };
}

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** The uniform linear merge of `folders`, cached by its ingredients (a recipe file beside it names them). */
async function soupOf(folders: readonly string[], dir: string): Promise<string> {
  if (folders.length === 1) return folders[0]!;
  const recipe = `merge_method: linear\nmodels:\n${folders.map((f) => `  - model: ${JSON.stringify(path.resolve(f))}\n    parameters: { weight: 1 }\n`).join('')}`;
  const key = [...recipe].reduce((h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0, 7).toString(16);
  const out = path.join(dir, `soup-${key}`);
  const file = `${out}.yaml`;
  if (!(fs.existsSync(file) && fs.readFileSync(file, 'utf8') === recipe && fs.existsSync(path.join(out, 'config.json')))) {
    fs.writeFileSync(file, recipe);
    fs.rmSync(out, { recursive: true, force: true });
    await merge({ ...loadMergeRecipe(file), onnx: false }, { out });
  }
  return out;
}

async function main(): Promise<void> {
  const { values, positionals: candidates } = parseArgs({
    options: {
      tune: { type: 'string', default: 'data/sst2_slice_tune.tsv' },
      out: { type: 'string', default: 'out/distill-quality/bert-soup' },
      // Every folder, no choice (for students that trained on the tuning rows' texts, where a
      // choice made on them would not be held out).
      uniform: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const tune = values.tune;
  const dir = path.resolve(values.out);
  const uniformOnly = values.uniform;
  if (candidates.length === 0) throw new Error('give the student folders to soup');
  if (SCORING.includes(tune)) throw new Error(`${tune} is a scoring file: no choice is made on it`);
  fs.mkdirSync(dir, { recursive: true });
  const k = LABELS.length;
  const t = readLabelled(tune, { labels: LABELS });
  const tuneLoss = async (folder: string): Promise<number> => logLoss(await probsOf(folder, t.inputs, LABELS), t.labels, k);

  const alone = new Map<string, number>();
  for (const c of candidates) alone.set(c, await tuneLoss(c));
  const sorted = [...candidates].sort((a, b) => alone.get(a)! - alone.get(b)!);
  const greedy = uniformOnly ? null : await greedySoup(sorted, async (soup) => tuneLoss(await soupOf(soup, dir)));
  const uniform = await soupOf(sorted, dir);
  const uniformLoss = await tuneLoss(uniform);
  if (greedy) {
    console.log(`tuning rows ${tune} (${t.inputs.length}): candidates best first, the greedy soup's log-loss after each was tried`);
    console.log(renderTable(['candidate', 'alone', 'soup with it', 'kept'], greedy.tried.map((x) => [path.basename(x.candidate), alone.get(x.candidate)!.toFixed(4), x.loss.toFixed(4), x.kept ? 'yes' : ''])));
    console.log(`greedy soup: ${greedy.soup.length} of ${sorted.length} ingredients, tuning log-loss ${greedy.best.toFixed(4)}; uniform soup of all ${sorted.length}: ${uniformLoss.toFixed(4)}`);
  }
  const chosenIsGreedy = greedy !== null && greedy.best <= uniformLoss;
  const soupFolder = chosenIsGreedy ? await soupOf(greedy.soup, dir) : uniform;
  const soupName = chosenIsGreedy ? `greedy soup (${greedy.soup.length} of ${sorted.length})` : `uniform soup (${sorted.length})`;
  log(`${uniformOnly ? 'given' : `chosen on ${tune}`}: ${soupName} (${soupFolder})`);

  const memberNames = MEMBERS.map((m) => path.basename(m));
  const results: Record<string, unknown>[] = [];
  for (const file of SCORING) {
    const data = readLabelled(file, { labels: LABELS });
    const probs = new Map<string, Float64Array>();
    for (const [i, m] of MEMBERS.entries()) probs.set(memberNames[i]!, await probsOf(m, data.inputs, LABELS));
    probs.set('teacher (mean)', meanOf(memberNames.map((m) => probs.get(m)!)));
    probs.set(soupName, await probsOf(soupFolder, data.inputs, LABELS));
    probs.set('best ingredient alone', await probsOf(sorted[0]!, data.inputs, LABELS));
    const b = bootstrap(probs, data.labels, k, { seed: 0, resamples: RESAMPLES });
    const scores = new Map([...probs].map(([name, p]) => [name, { accuracy: accuracy(p, data.labels, k), logLoss: logLoss(p, data.labels, k) }] as const));
    const rows = [...probs.keys()].map((name) => {
      const s = scores.get(name)!;
      const ci = scoreIntervals(b, name);
      const student = !memberNames.includes(name) && name !== 'teacher (mean)';
      const ll = student ? scoreRetention(b, scores, { student: name, teacher: 'teacher (mean)', members: memberNames }, 'logLoss') : null;
      const vsStart = student ? scoreRetention(b, scores, { student: name, teacher: 'teacher (mean)', members: [path.basename(START)] }, 'logLoss') : null;
      return { name, accuracy: s.accuracy, accuracyCi: ci.accuracy, logLoss: s.logLoss, logLossCi: ci.logLoss, logLossRetention: ll, logLossRetentionVsStart: vsStart };
    });
    const r = (x: (typeof rows)[number]['logLossRetention']): string => (x === null || x.retention === null ? '–' : `${(100 * x.retention).toFixed(0)}% [${(100 * x.ci!.low).toFixed(0)}, ${(100 * x.ci!.high).toFixed(0)}]${x.determined ? '' : ' undetermined'}`);
    console.log(`\n${file} (${data.inputs.length} rows; 95% paired bootstrap, ${RESAMPLES} rounds, seed 0)`);
    console.log(
      renderTable(
        ['model', 'accuracy [95% CI]', 'log-loss [95% CI]', 'log-loss retention [CI]', 'vs its start [CI]'],
        rows.map((x) => [x.name, `${(100 * x.accuracy).toFixed(2)}% [${(100 * x.accuracyCi.low).toFixed(1)}–${(100 * x.accuracyCi.high).toFixed(1)}]`, `${x.logLoss.toFixed(4)} [${x.logLossCi.low.toFixed(3)}–${x.logLossCi.high.toFixed(3)}]`, r(x.logLossRetention), r(x.logLossRetentionVsStart)]),
      ),
    );
    results.push({ file, rows: data.inputs.length, models: rows });
  }
  const json = path.join(dir, 'results.json');
  fs.writeFileSync(json, JSON.stringify({ tune, candidates: sorted.map((c) => ({ folder: c, tuneLogLoss: alone.get(c) })), greedy: greedy ? { soup: greedy.soup, tuneLogLoss: greedy.best, tried: greedy.tried } : null, uniformTuneLogLoss: uniformLoss, chosen: soupName, folder: soupFolder, resamples: RESAMPLES, scoring: results }, null, 2) + '\n');
  log(`wrote ${json}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
