import path from 'node:path';
import type { Checkpoint } from '../checkpoint/load.js';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { readLabelled, type ReadLabelledOptions } from '../data/labelled.js';
import { registerMergedLoader } from '../artifact/merged-model.js';
import { BertfuseError } from '../errors.js';
import { loadClassifier, type Classifier } from '../runtime/classifier.js';
import type { RuntimeOptions } from '../runtime/session.js';

/** A labelled file to score a merge on; `task` picks the head when heads are separate. */
export interface EvalSet {
  readonly file: string;
  readonly task?: string | null;
  /** Names for integer labels (label i = names[i]); default: the task's first member's label order. */
  readonly labelNames?: readonly string[] | null;
  /** How to read the file (columns, encoding, label renames), as for `combine --data`. */
  readonly read?: Pick<ReadLabelledOptions, 'textColumn' | 'textPairColumn' | 'labelColumn' | 'encoding' | 'labelMap'>;
}

export interface EvalRow {
  readonly task: string;
  readonly file: string;
  readonly model: string;
  readonly kind: 'member' | 'ensemble' | 'merged' | 'merged-int8';
  readonly accuracy: number;
  readonly n: number;
  /** merged-int8 rows: the fraction of rows whose label equals the float32 merged model's. */
  readonly agreement?: number;
}

interface TaskInfo {
  readonly task: string;
  readonly labels: readonly string[];
  readonly folder: string;
  readonly members: readonly string[];
}

/** Probabilities re-ordered to `labels` by name. */
async function probs(c: Classifier, inputs: readonly TextInput[], labels: readonly string[]): Promise<Float64Array> {
  const p = await c.predictProba(inputs);
  const k = c.labels.length;
  const order = labels.map((l) => c.labels.indexOf(l));
  const out = new Float64Array(inputs.length * labels.length);
  for (let i = 0; i < inputs.length; i++) order.forEach((j, col) => (out[i * labels.length + col] = p[i * k + j]!));
  return out;
}

/** Each row's most probable label (ties to the first). */
function predicted(p: Float64Array, labels: readonly string[]): string[] {
  const k = labels.length;
  return Array.from({ length: p.length / k }, (_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (p[i * k + j]! > p[i * k + best]!) best = j;
    return labels[best]!;
  });
}

/** The fraction of rows where `a[i] === b[i]`. */
function sameShare(a: readonly string[], b: readonly string[]): number {
  return a.length ? a.filter((x, i) => x === b[i]).length / a.length : 0;
}

function accuracy(p: Float64Array, labels: readonly string[], gold: readonly string[]): number {
  return sameShare(predicted(p, labels), gold);
}

/**
 * Accuracy of each member, of the members' ensemble (mean of probabilities, labels matched by
 * name) and of the merged checkpoint (reloaded from the written safetensors) on each set. With
 * `int8` (model.onnx was written with int8 encoder layers) also that graph's accuracy, run as
 * `predict` runs it, and how often its label equals the float32 merged model's.
 */
export async function evaluateMerged(dir: string, tasks: readonly TaskInfo[], members: readonly Checkpoint[], sets: readonly EvalSet[], opts: { threads?: number; int8?: boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<EvalRow[]> {
  const runtime: RuntimeOptions = opts.threads ? { threads: opts.threads } : {};
  const steps = sets.length * (opts.int8 ? 5 : 4);
  registerMergedLoader();
  const rows: EvalRow[] = [];
  let done = 0;
  for (const set of sets) {
    const task = set.task ? tasks.find((t) => t.task === set.task) : tasks.length === 1 ? tasks[0] : undefined;
    if (!task) {
      const msg = set.task ? `no task "${set.task}" (tasks: ${tasks.map((t) => t.task).join(', ')})` : `the merge has ${tasks.length} tasks (${tasks.map((t) => t.task).join(', ')}): name one as <task>=<file>`;
      throw new BertfuseError('E_USAGE', msg, set.file);
    }
    // Integer labels index the task's first member's own label order (sst2_dev: 0 = negative).
    const names = set.labelNames ?? members.find((m) => m.name === task.members[0])?.config.labels ?? task.labels;
    const read = readLabelled(set.file, { ...set.read, labels: names });
    const data = { inputs: read.inputs, gold: Array.from(read.labels, (i) => read.labelNames[i]!) };
    const file = path.basename(set.file);
    const own = members.filter((m) => task.members.includes(m.name));
    const memberProbs: Float64Array[] = [];
    for (const m of own) {
      const c = await loadClassifier(m.dir, { runtime });
      try {
        const p = await probs(c, data.inputs, task.labels);
        memberProbs.push(p);
        rows.push({ task: task.task, file, model: m.name, kind: 'member', accuracy: accuracy(p, task.labels, data.gold), n: data.gold.length });
      } finally {
        await c.close();
      }
      opts.onProgress?.(++done, steps);
    }
    if (memberProbs.length > 1) {
      const mean = new Float64Array(memberProbs[0]!.length);
      for (const p of memberProbs) for (let i = 0; i < mean.length; i++) mean[i] += p[i]! / memberProbs.length;
      rows.push({ task: task.task, file, model: `ensemble (mean of ${memberProbs.length})`, kind: 'ensemble', accuracy: accuracy(mean, task.labels, data.gold), n: data.gold.length });
    }
    const merged = await loadClassifier(path.join(dir, task.folder), { runtime });
    let float: string[];
    try {
      const p = await probs(merged, data.inputs, task.labels);
      float = predicted(p, task.labels);
      rows.push({ task: task.task, file, model: 'merged', kind: 'merged', accuracy: sameShare(float, data.gold), n: data.gold.length });
    } finally {
      await merged.close();
    }
    opts.onProgress?.(++done, steps);
    if (opts.int8) {
      // The written graph itself: a single head's model.onnx, or this task's head of the multi-task one.
      const int8 = await loadClassifier(path.join(dir, 'model.onnx'), { runtime, ...(task.folder !== '' ? { task: task.task } : {}) });
      try {
        const labels = predicted(await probs(int8, data.inputs, task.labels), task.labels);
        rows.push({ task: task.task, file, model: 'merged, int8 model.onnx', kind: 'merged-int8', accuracy: sameShare(labels, data.gold), n: data.gold.length, agreement: sameShare(labels, float) });
      } finally {
        await int8.close();
      }
      opts.onProgress?.(++done, steps);
    }
  }
  return rows;
}
