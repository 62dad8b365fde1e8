import fs from 'node:fs';
import path from 'node:path';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { readManifest, isCombinedFolder } from '../artifact/manifest.js';
import { registerCombinedLoader } from '../artifact/read.js';
import { BertfuseError } from '../errors.js';
import { alignLabels, mapLabels, type LabelMap } from '../members/labels.js';
import { loadClassifier, type Classifier } from '../runtime/classifier.js';
import type { RuntimeOptions } from '../runtime/session.js';

/** What the student learns from: probabilities over `labels` for any text. */
export interface Teacher {
  readonly name: string;
  readonly labels: readonly string[];
  /** How the teacher fuses (a combined folder's method, or `mean` of the given members). */
  readonly method: string;
  /** Member folders, for scoring them next to the student (empty when unknown). */
  readonly members: readonly string[];
  /** True when the teacher is members + method (then the eval table's method row is the teacher). */
  readonly fromMembers: boolean;
  probs(inputs: readonly TextInput[]): Promise<Float32Array>;
  close(): Promise<void>;
}

/**
 * One path: any model bertfuse loads (a combined folder's `logits` are the fused log-probabilities;
 * its manifest names the members). Several paths: their probabilities averaged after aligning
 * labels by name (`mean`, the only method that needs no fitting data).
 */
export async function loadTeacher(paths: readonly string[], method: string | undefined, runtime: RuntimeOptions, labelMap: LabelMap = {}): Promise<Teacher> {
  if (paths.length === 0) throw new BertfuseError('E_USAGE', 'distill needs a teacher: a combined folder or model, or several member folders (fused with --method mean)');
  if (paths.length === 1) {
    // A combined folder opens through its own loader (the CLI registers it at start; a library caller may not have).
    registerCombinedLoader();
    if (method) throw new BertfuseError('E_USAGE', `--method applies to several teacher members; ${paths[0]} already is one model`);
    const c = await loadClassifier(paths[0]!, { runtime });
    const dir = path.resolve(paths[0]!);
    const combined = fs.existsSync(dir) && fs.statSync(dir).isDirectory() && isCombinedFolder(dir);
    const manifest = combined ? readManifest(dir) : null;
    const members = manifest ? manifest.members.map((m) => m.source).filter((s) => fs.existsSync(s)) : [];
    return {
      name: c.name,
      labels: mapLabels(c.labels, labelMap, c.source),
      method: manifest ? manifest.method.name : 'single model',
      members: manifest && members.length === manifest.members.length ? members : [],
      fromMembers: false,
      probs: (inputs) => c.predictProba(inputs),
      close: () => c.close(),
    };
  }
  if (method && method !== 'mean') {
    throw new BertfuseError('E_USAGE', `distill fuses teacher members with --method mean only (other methods need fitting: build the teacher with \`bertfuse combine --method ${method}\` and pass its folder)`);
  }
  const classifiers: Classifier[] = [];
  try {
    for (const p of paths) classifiers.push(await loadClassifier(p, { runtime }));
  } catch (e) {
    await Promise.all(classifiers.map((c) => c.close()));
    throw e;
  }
  const labels = mapLabels(classifiers[0]!.labels, labelMap, classifiers[0]!.source);
  const maps = classifiers.map((c) => alignLabels(mapLabels(c.labels, labelMap, c.source), labels, c.source));
  return {
    name: `mean(${classifiers.map((c) => c.name).join(', ')})`,
    labels,
    method: 'mean',
    members: [...paths],
    fromMembers: true,
    async probs(inputs) {
      const k = labels.length;
      const out = new Float32Array(inputs.length * k);
      for (let m = 0; m < classifiers.length; m++) {
        const p = await classifiers[m]!.predictProba(inputs);
        for (let i = 0; i < inputs.length; i++) for (let j = 0; j < k; j++) out[i * k + j] += p[i * k + maps[m]![j]!]! / classifiers.length;
      }
      return out;
    },
    close: async () => void (await Promise.all(classifiers.map((c) => c.close()))),
  };
}
