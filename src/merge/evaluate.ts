import path from 'node:path';
import type { Checkpoint } from '../checkpoint/load.js';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { readLabelled, type ReadLabelledOptions } from '../data/labelled.js';
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
  readonly kind: 'member' | 'ensemble' | 'merged';
  readonly accuracy: number;
  readonly n: number;
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

function accuracy(p: Float64Array, labels: readonly string[], gold: readonly string[]): number {
  const k = labels.length;
  let ok = 0;
  gold.forEach((g, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (p[i * k + j]! > p[i * k + best]!) best = j;
    if (labels[best] === g) ok++;
  });
  return gold.length ? ok / gold.length : 0;
}

/**
 * Accuracy of each member, of the members' ensemble (mean of probabilities, labels matched by
 * name) and of the merged checkpoint (reloaded from the written safetensors) on each set.
 */
export async function evaluateMerged(dir: string, tasks: readonly TaskInfo[], members: readonly Checkpoint[], sets: readonly EvalSet[], opts: { threads?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<EvalRow[]> {
  const runtime: RuntimeOptions = opts.threads ? { threads: opts.threads } : {};
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
      opts.onProgress?.(++done, sets.length * 4);
    }
    if (memberProbs.length > 1) {
      const mean = new Float64Array(memberProbs[0]!.length);
      for (const p of memberProbs) for (let i = 0; i < mean.length; i++) mean[i] += p[i]! / memberProbs.length;
      rows.push({ task: task.task, file, model: `ensemble (mean of ${memberProbs.length})`, kind: 'ensemble', accuracy: accuracy(mean, task.labels, data.gold), n: data.gold.length });
    }
    const merged = await loadClassifier(path.join(dir, task.folder), { runtime });
    try {
      const p = await probs(merged, data.inputs, task.labels);
      rows.push({ task: task.task, file, model: 'merged', kind: 'merged', accuracy: accuracy(p, task.labels, data.gold), n: data.gold.length });
    } finally {
      await merged.close();
    }
    opts.onProgress?.(++done, sets.length * 4);
  }
  return rows;
}
