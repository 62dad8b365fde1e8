import fs from 'node:fs';
import path from 'node:path';
import { isCombinedFolder, MANIFEST_FILE, readManifest, type CombinedManifest } from '../artifact/manifest.js';
import { BertfuseError } from '../errors.js';
import type { CoveragePoint, Disagreement, ReliabilityBin, ScoreIntervals, Selection } from '../eval/result.js';
import { paretoFront } from '../eval/select.js';
import type { ReportExtraSet, ReportMember, ReportModel, ReportRow } from './model.js';
import { Shape } from './shape.js';
import { MAX_INPUT_BYTES, readFileBounded } from '../util/read-bounded.js';

/**
 * A combined folder that keeps its full evaluation beside the manifest, under this name, gets the
 * complete report; otherwise only the manifest's summary metrics can be shown.
 */
export const EVAL_FILE = 'eval.json';

/**
 * Reads what `bertfuse report` was pointed at: an eval result JSON (`bertfuse eval --json`), a
 * combined model folder, or that folder's bertfuse.json. Everything is checked up front, so a bad
 * file fails in one line naming the file and the JSON path.
 */
export function loadReportInput(source: string): ReportModel {
  if (!fs.existsSync(source)) throw new BertfuseError('E_MISSING_FILE', 'no such file or folder', source);
  if (fs.statSync(source).isDirectory()) {
    if (!isCombinedFolder(source)) {
      throw new BertfuseError('E_BAD_INPUT', `not a combined model folder (no ${MANIFEST_FILE}); give an eval result JSON (bertfuse eval --json) or a folder written by bertfuse combine`, source);
    }
    return fromCombinedFolder(source, source);
  }
  const raw = readJson(source);
  if (typeof raw === 'object' && raw !== null && (raw as Record<string, unknown>)['format'] === 'bertfuse-combined') {
    return fromCombinedFolder(path.dirname(source), source);
  }
  return fromEvalResult(raw, source, source, null);
}

function readJson(file: string): unknown {
  const text = readFileBounded(file, MAX_INPUT_BYTES, 'cannot read').toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BertfuseError('E_BAD_INPUT', `not valid JSON (${(e as Error).message.split('\n')[0]})`, file);
  }
}

function fromCombinedFolder(dir: string, source: string): ReportModel {
  const manifest = readManifest(dir);
  const evalFile = path.join(dir, EVAL_FILE);
  if (fs.existsSync(evalFile)) return fromEvalResult(readJson(evalFile), evalFile, source, manifest);
  if (manifest.metrics === null || manifest.metrics === undefined) {
    throw new BertfuseError('E_BAD_INPUT', `has no metrics to report (no ${EVAL_FILE}, and "metrics" in ${MANIFEST_FILE} is empty); run bertfuse eval --json on its members and report that`, dir);
  }
  return fromSummary(manifest, path.join(dir, MANIFEST_FILE), source);
}

function protocolText(p: unknown, s: Shape, fitPath: string | null, evalPath: string | null): string {
  const o = s.obj(p, 'protocol');
  const kind = s.str(o['kind'], 'protocol.kind');
  const seed = s.count(o['seed'], 'protocol.seed');
  if (kind === 'out-of-fold') return `${s.count(o['folds'], 'protocol.folds')}-fold out-of-fold on ${fitPath} (seed ${seed}); members scored directly`;
  if (kind === 'eval-data') return `methods fit on ${fitPath ?? 'the fit data'}, scored on ${evalPath ?? '(eval data)'} (seed ${seed})`;
  return s.fail('protocol.kind', `unknown protocol ${JSON.stringify(kind)}`);
}

function selectionOf(v: unknown, s: Shape): Selection | null {
  if (v === null || v === undefined) return null;
  const o = s.obj(v, 'selection');
  return { rule: s.str(o['rule'], 'selection.rule'), winner: s.str(o['winner'], 'selection.winner'), reason: s.str(o['reason'], 'selection.reason') };
}

function scores(o: Record<string, unknown>, s: Shape, where: string): Pick<ReportRow, 'accuracy' | 'macroF1' | 'logLoss' | 'ece' | 'cost'> {
  const cost = s.num(o['cost'], `${where}.cost`);
  if (cost < 0) s.fail(`${where}.cost`, 'must not be negative');
  return {
    accuracy: s.unitOrNull(o['accuracy'], `${where}.accuracy`),
    macroF1: s.unitOrNull(o['macroF1'], `${where}.macroF1`),
    logLoss: s.numOrNull(o['logLoss'], `${where}.logLoss`),
    ece: s.unitOrNull(o['ece'], `${where}.ece`),
    cost,
  };
}

/** Optional intervals: { accuracy: { low, high }, … } with low ≤ high. */
function intervalsOf(v: unknown, s: Shape, where: string): ScoreIntervals | null {
  if (v === undefined || v === null) return null;
  const o = s.obj(v, where);
  const one = (key: keyof ScoreIntervals) => {
    const i = s.obj(o[key], `${where}.${key}`);
    const low = s.num(i['low'], `${where}.${key}.low`);
    const high = s.num(i['high'], `${where}.${key}.high`);
    if (high < low) s.fail(`${where}.${key}`, `high ${high} is below low ${low}`);
    return { low, high };
  };
  return { accuracy: one('accuracy'), macroF1: one('macroF1'), logLoss: one('logLoss'), ece: one('ece') };
}

function riskCoverageOf(v: unknown, s: Shape, where: string): CoveragePoint[] | null {
  if (v === undefined || v === null) return null;
  return s.arr(v, where).map((p, i) => {
    const o = s.obj(p, `${where}[${i}]`);
    return { coverage: s.unit(o['coverage'], `${where}[${i}].coverage`), accuracy: s.unit(o['accuracy'], `${where}[${i}].accuracy`) };
  });
}

function extraSetsOf(v: unknown, s: Shape): ReportExtraSet[] {
  if (v === undefined || v === null) return [];
  return s.arr(v, 'extraSets').map((x, i) => {
    const w = `extraSets[${i}]`;
    const o = s.obj(x, w);
    const rows = s.arr(o['rows'], `${w}.rows`).map((r, j) => {
      const rw = `${w}.rows[${j}]`;
      const ro = s.obj(r, rw);
      return { name: s.str(ro['name'], `${rw}.name`), kind: s.str(ro['kind'], `${rw}.kind`), accuracy: s.unit(ro['accuracy'], `${rw}.accuracy`), logLoss: s.num(ro['logLoss'], `${rw}.logLoss`), cost: s.num(ro['cost'], `${rw}.cost`), intervals: intervalsOf(ro['intervals'], s, `${rw}.intervals`) };
    });
    return { path: s.str(o['path'], `${w}.path`), n: s.count(o['n'], `${w}.n`), rows };
  });
}

function uncertaintyOf(v: unknown, s: Shape): string | null {
  if (v === undefined || v === null) return null;
  const o = s.obj(v, 'uncertainty');
  return `${Math.round(100 * s.unit(o['level'], 'uncertainty.level'))}% ${s.str(o['method'], 'uncertainty.method')} intervals (${s.count(o['resamples'], 'uncertainty.resamples')} rounds, seed ${s.count(o['seed'], 'uncertainty.seed')})`;
}

function confusionOf(v: unknown, k: number, s: Shape, where: string): number[][] {
  const m = s.arr(v, where);
  if (m.length !== k) s.fail(where, `expected ${k} rows (one per label), got ${m.length}`);
  return m.map((row, i) => {
    const r = s.arr(row, `${where}[${i}]`);
    if (r.length !== k) s.fail(`${where}[${i}]`, `expected ${k} counts, got ${r.length}`);
    return r.map((c, j) => s.count(c, `${where}[${i}][${j}]`));
  });
}

function reliabilityOf(v: unknown, s: Shape, where: string): ReliabilityBin[] {
  return s.arr(v, where).map((b, i) => {
    const w = `${where}[${i}]`;
    const o = s.obj(b, w);
    const bin = {
      lower: s.unit(o['lower'], `${w}.lower`),
      upper: s.unit(o['upper'], `${w}.upper`),
      count: s.count(o['count'], `${w}.count`),
      confidence: s.unitOrNull(o['confidence'], `${w}.confidence`),
      accuracy: s.unitOrNull(o['accuracy'], `${w}.accuracy`),
    };
    if (bin.upper <= bin.lower) s.fail(w, `upper ${bin.upper} is not above lower ${bin.lower}`);
    if (bin.count > 0 && (bin.confidence === null || bin.accuracy === null)) s.fail(w, 'a bin with rows needs confidence and accuracy');
    return bin;
  });
}

function disagreementOf(v: unknown, labels: readonly string[], members: readonly string[], s: Shape, where: string): Disagreement {
  const o = s.obj(v, where);
  const k = labels.length;
  const gold = s.str(o['gold'], `${where}.gold`);
  if (!labels.includes(gold)) s.fail(`${where}.gold`, `${JSON.stringify(gold)} is not one of the labels`);
  const probsOf = (field: 'members' | 'fused'): Record<string, number[]> => {
    const rec = s.obj(o[field], `${where}.${field}`);
    return Object.fromEntries(Object.entries(rec).map(([name, p]) => [name, s.probs(p, k, `${where}.${field}.${name}`)]));
  };
  const mem = probsOf('members');
  const missing = members.filter((m) => !(m in mem));
  if (missing.length > 0) s.fail(`${where}.members`, `no probabilities for ${missing.join(', ')}`);
  const pair = o['textPair'];
  const line = o['line'];
  if (line !== undefined && line !== null && s.count(line, `${where}.line`) < 1) s.fail(`${where}.line`, 'lines are numbered from 1');
  return {
    index: s.count(o['index'], `${where}.index`),
    ...(line === undefined || line === null ? {} : { line: s.count(line, `${where}.line`) }),
    text: s.str(o['text'], `${where}.text`),
    textPair: pair === null || pair === undefined ? null : s.str(pair, `${where}.textPair`),
    gold,
    members: mem,
    fused: probsOf('fused'),
  };
}

function labelsOf(v: unknown, s: Shape): string[] {
  const labels = s.arr(v, 'labels').map((l, i) => s.str(l, `labels[${i}]`));
  if (labels.length < 2) s.fail('labels', 'at least two labels are needed');
  return labels;
}

/** The full result of `bertfuse eval` (src/eval/result.ts), checked field by field. */
export function fromEvalResult(raw: unknown, file: string, source: string, manifest: CombinedManifest | null): ReportModel {
  const s: Shape = new Shape(file);
  const r = s.obj(raw, '(top level)');
  if (r['version'] !== 1) s.fail('version', `expected an eval result of version 1 (bertfuse eval --json), got ${JSON.stringify(r['version'])}`);
  const labels = labelsOf(r['labels'], s);
  const k = labels.length;
  const data = s.obj(r['data'], 'data');
  const fit = s.obj(data['fit'], 'data.fit');
  const ev = data['eval'] === null || data['eval'] === undefined ? null : s.obj(data['eval'], 'data.eval');
  const fitPath = s.str(fit['path'], 'data.fit.path');
  const scored = ev ? { path: s.str(ev['path'], 'data.eval.path'), n: s.count(ev['n'], 'data.eval.n') } : { path: fitPath, n: s.count(fit['n'], 'data.fit.n') };
  const members: ReportMember[] = s.arr(r['members'], 'members').map((m, i) => {
    const o = s.obj(m, `members[${i}]`);
    return { name: s.str(o['name'], `members[${i}].name`), source: s.str(o['source'], `members[${i}].source`), cost: s.num(o['cost'], `members[${i}].cost`), meanTokens: s.num(o['meanTokens'], `members[${i}].meanTokens`) };
  });
  const rows: ReportRow[] = s.arr(r['rows'], 'rows').map((x, i) => {
    const w = `rows[${i}]`;
    const o = s.obj(x, w);
    const pareto = o['pareto'];
    if (typeof pareto !== 'boolean') s.fail(`${w}.pareto`, 'expected true or false');
    return {
      name: s.str(o['name'], `${w}.name`),
      kind: s.str(o['kind'], `${w}.kind`),
      scoring: s.str(o['scoring'], `${w}.scoring`),
      ...scores(o, s, w),
      pareto,
      confusion: confusionOf(o['confusion'], k, s, `${w}.confusion`),
      reliability: reliabilityOf(o['reliability'], s, `${w}.reliability`),
      intervals: intervalsOf(o['intervals'], s, `${w}.intervals`),
      riskCoverage: riskCoverageOf(o['riskCoverage'], s, `${w}.riskCoverage`),
    };
  });
  if (rows.length === 0) s.fail('rows', 'nothing was scored');
  const ag = s.obj(r['agreement'], 'agreement');
  const pairs = s.arr(ag['pairs'], 'agreement.pairs').map((p, i) => {
    const o = s.obj(p, `agreement.pairs[${i}]`);
    return { a: s.str(o['a'], `agreement.pairs[${i}].a`), b: s.str(o['b'], `agreement.pairs[${i}].b`), rate: s.unit(o['rate'], `agreement.pairs[${i}].rate`) };
  });
  const memberNames = members.map((m) => m.name);
  const tool = r['tool'] === undefined ? null : s.obj(r['tool'], 'tool');
  return {
    source,
    toolVersion: tool ? s.str(tool['version'], 'tool.version') : null,
    labels,
    scored,
    fitPath: ev ? fitPath : null,
    protocol: protocolText(r['protocol'], s, fitPath, ev ? scored.path : null),
    members,
    rows,
    agreement: { all: s.unit(ag['all'], 'agreement.all'), pairs },
    oracleAccuracy: s.unit(r['oracleAccuracy'], 'oracleAccuracy'),
    selection: selectionOf(r['selection'], s),
    exported: manifest?.method.name ?? null,
    disagreements: s.arr(r['disagreements'], 'disagreements').map((d, i) => disagreementOf(d, labels, memberNames, s, `disagreements[${i}]`)),
    uncertainty: uncertaintyOf(r['uncertainty'], s),
    extraSets: extraSetsOf(r['extraSets'], s),
  };
}

/** A combined folder without eval.json: the summary kept in bertfuse.json (no per-row details). */
function fromSummary(manifest: CombinedManifest, file: string, source: string): ReportModel {
  const s: Shape = new Shape(file);
  const m = s.obj(manifest.metrics, 'metrics');
  const scoredPath = s.str(m['data'], 'metrics.data');
  const drafts = s.arr(m['rows'], 'metrics.rows').map((x, i) => {
    const w = `metrics.rows[${i}]`;
    const o = s.obj(x, w);
    const pareto = o['pareto'];
    if (pareto !== undefined && typeof pareto !== 'boolean') s.fail(`${w}.pareto`, 'expected true or false');
    return { name: s.str(o['name'], `${w}.name`), kind: s.str(o['kind'], `${w}.kind`), scoring: s.str(o['scoring'], `${w}.scoring`), ...scores(o, s, w), pareto, intervals: intervalsOf(o['intervals'], s, `${w}.intervals`) };
  });
  if (drafts.length === 0) s.fail('metrics.rows', 'nothing was scored');
  // Older summaries do not keep the Pareto mark; it follows from accuracy and cost alone.
  const front = paretoFront(drafts.map((d) => ({ accuracy: d.accuracy ?? 0, cost: d.cost })));
  const rows: ReportRow[] = drafts.map((d, i) => ({ ...d, pareto: d.pareto ?? (d.accuracy !== null && front[i]!), confusion: null, reliability: null, riskCoverage: null }));
  const costs = new Map(drafts.filter((d) => d.kind === 'member').map((d) => [d.name, d.cost]));
  return {
    source,
    toolVersion: manifest.tool?.version ?? null,
    labels: labelsOf(manifest.labels, s),
    scored: { path: scoredPath, n: s.count(m['n'], 'metrics.n') },
    fitPath: null,
    // The summary names only the scored file: under eval-data that is not where methods were fit.
    protocol: protocolText(m['protocol'], s, s.obj(m['protocol'], 'metrics.protocol')['kind'] === 'out-of-fold' ? scoredPath : null, scoredPath),
    members: manifest.members.map((x) => ({ name: x.name, source: x.source, cost: costs.get(x.name) ?? null, meanTokens: null })),
    rows,
    agreement: { all: s.unit(m['agreement'], 'metrics.agreement'), pairs: null },
    oracleAccuracy: s.unit(m['oracleAccuracy'], 'metrics.oracleAccuracy'),
    selection: selectionOf(m['selection'], s),
    exported: manifest.method.name,
    disagreements: null,
    uncertainty: drafts.some((d) => d.intervals) ? 'paired bootstrap intervals' : null,
    extraSets: [],
  };
}
