import { readLabelled, type LabelledData } from '../data/labelled.js';
import { BertfuseError } from '../errors.js';
import type { LabelMap } from '../members/labels.js';
import { loadMembers, type MemberSet } from '../members/load.js';
import { runMembers, type MemberRun } from '../members/run.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { resolveModelPath } from '../checkpoint/hub.js';

/** A labelled file and how to read it. */
export interface DataSpec {
  readonly path: string;
  readonly textColumn?: string;
  readonly pairColumn?: string;
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
  readonly evalData?: DataSpec | null;
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
  close(): void;
}

export type PrepareProgress = (stage: { readonly dataset: 'fit' | 'eval'; readonly member: string }, done: number, total: number) => void;

function readData(spec: DataSpec, labels: readonly string[] | undefined, labelMap: LabelMap): LabelledData {
  return readLabelled(spec.path, {
    ...(labels ? { labels } : {}),
    labelMap,
    ...(spec.textColumn !== undefined ? { textColumn: spec.textColumn } : {}),
    ...(spec.pairColumn !== undefined ? { pairColumn: spec.pairColumn } : {}),
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
    checkIntegerLabels(req.data, set, req, labelMap);
    if (req.evalData) checkIntegerLabels(req.evalData, set, req, labelMap);
    const fitData = readData(req.data, set.labels, labelMap);
    const evalData = req.evalData ? readData(req.evalData, set.labels, labelMap) : null;
    const opts = (dataset: 'fit' | 'eval') => ({
      ...(req.batchSize ? { batchSize: req.batchSize } : {}),
      ...(req.runtime ? { runtime: req.runtime } : {}),
      onProgress: (member: string, d: number, t: number) => onProgress?.({ dataset, member }, d, t),
    });
    const fitRun = await runMembers(set, fitData.inputs, opts('fit'));
    const evalRun = evalData ? await runMembers(set, evalData.inputs, opts('eval')) : null;
    return {
      set,
      fit: { spec: req.data, data: fitData, run: fitRun },
      eval: evalData && evalRun && req.evalData ? { spec: req.evalData, data: evalData, run: evalRun } : null,
      close: () => set.close(),
    };
  } catch (e) {
    set.close();
    throw e;
  }
}
