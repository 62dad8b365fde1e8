import { readLabelled, type LabelledData } from '../data/labelled.js';
import { BertfuseError } from '../errors.js';
import { binomialCdf } from './bootstrap.js';
import { confusionMatrix } from './metrics.js';
import type { LabelMap } from '../members/labels.js';
import { loadMembers, type MemberSet } from '../members/load.js';
import { runMembers, type MemberRun } from '../members/run.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { resolveModelPath } from '../checkpoint/hub.js';

/** A labelled file and how to read it. */
export interface DataSpec {
  readonly path: string;
  readonly textColumn?: string;
  readonly textPairColumn?: string;
  readonly labelColumn?: string;
  readonly encoding?: string;
}

export interface MemberSpec {
  readonly path: string;
  /** Display name (default: the folder's name). */
  readonly name?: string;
}

export interface PrepareRequest {
  readonly members: readonly MemberSpec[];
  /** Data the methods are fit on (and scored on out-of-fold unless `evalData` is given). */
  readonly data: DataSpec;
  /** Separate scoring data; several sets = the first is the main one, the rest are scored as further sets (e.g. shifted domains). */
  readonly evalData?: DataSpec | readonly DataSpec[] | null;
  /** Go on even when a member scores below chance under the declared labels (default: stop and say why). */
  readonly allowBelowChance?: boolean;
  /** The common label order; default the first member's. Integer labels in the data index this list. */
  readonly labels?: readonly string[];
  /** Renames applied to member label names and to data label values. */
  readonly labelMap?: LabelMap;
  readonly batchSize?: number;
  readonly runtime?: RuntimeOptions;
}

/** One dataset with every member's outputs on it. */
export interface Dataset {
  readonly spec: DataSpec;
  readonly data: LabelledData;
  readonly run: MemberRun;
}

export interface Prepared {
  readonly set: MemberSet;
  readonly fit: Dataset;
  readonly eval: Dataset | null;
  /** Further scoring sets, after `eval`. */
  readonly extraEvals: readonly Dataset[];
  /** Lines worth telling the user (e.g. how integer labels were read); the CLI prints them. */
  readonly notes: readonly string[];
  close(): void;
}

export type PrepareProgress = (stage: { readonly dataset: 'fit' | 'eval'; readonly member: string }, done: number, total: number) => void;

function readData(spec: DataSpec, labels: readonly string[] | undefined, labelMap: LabelMap): LabelledData {
  return readLabelled(spec.path, {
    ...(labels ? { labels } : {}),
    labelMap,
    ...(spec.textColumn !== undefined ? { textColumn: spec.textColumn } : {}),
    ...(spec.textPairColumn !== undefined ? { textPairColumn: spec.textPairColumn } : {}),
    ...(spec.labelColumn !== undefined ? { labelColumn: spec.labelColumn } : {}),
    ...(spec.encoding !== undefined ? { encoding: spec.encoding } : {}),
  });
}

/**
 * Integer labels in a file are class indices, and indices only mean something against one label
 * order. When the members order their labels differently and no order was given, refuse rather
 * than guess (stranger-b's 0 is "positive", sibling-a's is "negative").
 */
function checkIntegerLabels(spec: DataSpec, set: MemberSet, req: PrepareRequest, labelMap: LabelMap): void {
  if (req.labels) return;
  const orders = set.members.map((m) => m.ownLabels.join('\u0000'));
  if (orders.every((o) => o === orders[0])) return;
  const names = readData(spec, undefined, labelMap).labelNames;
  const ints = names.filter((n) => /^\d+$/.test(n) && !set.labels.includes(n));
  if (ints.length === 0) return;
  const members = set.members.map((m) => `${m.name}: ${m.ownLabels.join(', ')}`).join('; ');
  throw new BertfuseError(
    'E_LABEL_MISMATCH',
    `integer labels (${ints.join(', ')}) but the members order their labels differently (${members}); say what each integer means with --labels NAME_OF_0,NAME_OF_1,... or --label-map ${ints.map((n) => `${n}=NAME`).join(',')}`,
    spec.path,
  );
}

/**
 * Everything before fitting: open members (labels aligned, tokenizers grouped), read the data
 * against the common label list, and run each member ONCE per dataset. Files are all checked
 * before the first model runs, so a typo fails fast.
 */
export async function prepare(req: PrepareRequest, onProgress?: PrepareProgress): Promise<Prepared> {
  const labelMap = req.labelMap ?? {};
  // Hub ids (org/name) become local snapshot folders; the member keeps the id's name, not the snapshot hash.
  const paths = await Promise.all(req.members.map((m) => resolveModelPath(m.path)));
  const names = req.members.map((m, i) => m.name ?? (paths[i] !== m.path ? m.path.split('@')[0]!.split('/').pop() : undefined));
  const set = loadMembers(paths, { labelMap, ...(req.labels ? { labels: req.labels } : {}), names });
  try {
    const evalSpecs: readonly DataSpec[] = req.evalData ? (Array.isArray(req.evalData) ? req.evalData : [req.evalData as DataSpec]) : [];
    const notes: string[] = [];
    // Files whose labels are integers read as indices: the below-chance hint then suggests --labels.
    const integerLabelled = new Set<DataSpec>();
    for (const spec of [req.data, ...evalSpecs]) {
      checkIntegerLabels(spec, set, req, labelMap);
      const note = integerLabelNote(spec, set.labels, labelMap);
      if (note) {
        notes.push(note);
        integerLabelled.add(spec);
      }
    }
    // Every file is read (and checked) before the first member runs.
    const fitData = readData(req.data, set.labels, labelMap);
    checkTwoClasses(fitData);
    const evalDatas = evalSpecs.map((spec) => readData(spec, set.labels, labelMap));
    const opts = (dataset: 'fit' | 'eval') => ({
      ...(req.batchSize ? { batchSize: req.batchSize } : {}),
      ...(req.runtime ? { runtime: req.runtime } : {}),
      onProgress: (member: string, d: number, t: number) => onProgress?.({ dataset, member }, d, t),
    });
    const fit: Dataset = { spec: req.data, data: fitData, run: await runMembers(set, fitData.inputs, opts('fit')) };
    if (!req.allowBelowChance) checkBelowChance(fit, set, integerLabelled.has(fit.spec));
    const evals: Dataset[] = [];
    for (let i = 0; i < evalSpecs.length; i++) {
      const d: Dataset = { spec: evalSpecs[i]!, data: evalDatas[i]!, run: await runMembers(set, evalDatas[i]!.inputs, opts('eval')) };
      if (!req.allowBelowChance) checkBelowChance(d, set, integerLabelled.has(d.spec));
      evals.push(d);
    }
    return { set, fit, eval: evals[0] ?? null, extraEvals: evals.slice(1), notes, close: () => set.close() };
  } catch (e) {
    set.close();
    throw e;
  }
}

/**
 * Rows of a single class cannot fit or score a classifier: every method would learn "always that
 * class" and score 100% (auto once shipped exactly that). Refuse before any member runs.
 */
function checkTwoClasses(data: LabelledData): void {
  const present = new Set(data.labels);
  if (present.size >= 2) return;
  const only = present.size === 1 ? `every row is labelled "${data.labelNames[data.labels[0]!]}"` : 'there are no rows';
  throw new BertfuseError('E_BAD_DATA', `${only}; fitting and scoring need rows of at least two classes`, data.source);
}

/** "label 0 = negative, 1 = positive" whenever a file's integer labels are read as indices into the label list. */
function integerLabelNote(spec: DataSpec, labels: readonly string[], labelMap: LabelMap): string | null {
  const names = readData(spec, undefined, labelMap).labelNames;
  const ints = names.filter((n) => /^\d+$/.test(n) && !labels.includes(n)).map(Number).sort((a, b) => a - b);
  if (ints.length === 0) return null;
  return `${spec.path}: integer labels read as indices: ${ints.map((i, j) => `${j === 0 ? 'label ' : ''}${i} = ${labels[i] ?? '?'}`).join(', ')}`;
}

/** Label permutations of up to this many classes are searched for the suggestion. */
const MAX_PERMUTED_LABELS = 7;

function permutations(k: number): number[][] {
  if (k === 1) return [[0]];
  return permutations(k - 1).flatMap((p) => Array.from({ length: k }, (_, at) => [...p.slice(0, at), k - 1, ...p.slice(at)]));
}

/**
 * A member that scores clearly BELOW chance (one-sided exact binomial test, p < 0.001, against 1/k)
 * under the declared label order almost always means the order is wrong — the data's 0 is not the
 * label the user said it is — and a model exported that way is confidently wrong on every row.
 * Stop, say what order the data supports, and let `--allow-below-chance` override.
 */
function checkBelowChance(d: Dataset, set: MemberSet, integerData: boolean): void {
  const labels = set.labels;
  const k = labels.length;
  const gold = d.data.labels;
  const n = gold.length;
  if (n === 0) return;
  for (let m = 0; m < set.members.length; m++) {
    // Argmax of logits = argmax of probabilities.
    const confusion = confusionMatrix(d.run.outputs.members[m]!.logits, gold, k);
    const right = confusion.reduce((a, row, g) => a + row[g]!, 0);
    if (right / n >= 1 / k || binomialCdf(right, n, 1 / k) >= 1e-3) continue;
    const member = set.members[m]!.name;
    const pct = (x: number): string => `${((100 * x) / n).toFixed(1)}%`;
    let hint = '';
    if (k <= MAX_PERMUTED_LABELS) {
      const best = permutations(k).reduce(
        (b, p) => {
          const s = p.reduce((a, to, g) => a + confusion[g]![to]!, 0);
          return s > b.score ? { p, score: s } : b;
        },
        { p: [...labels.keys()], score: right },
      );
      const order = best.p.map((to) => labels[to]!);
      hint = integerData
        ? `; the data supports the order --labels ${order.join(',')} (${member} then scores ${pct(best.score)})`
        : `; reading the data's ${labels.map((l, g) => `${l} as ${order[g]}`).filter((_, g) => best.p[g] !== g).join(', ')} would give ${pct(best.score)}: check the label names or --label-map`;
    }
    throw new BertfuseError(
      'E_LABEL_MISMATCH',
      `member ${member} scores ${pct(right)} under the labels ${labels.map((l, i) => `${i} = ${l}`).join(', ')} — below chance (${(100 / k).toFixed(1)}%)${hint}; pass --allow-below-chance to go on anyway`,
      d.spec.path,
    );
  }
}
