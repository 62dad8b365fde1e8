import fs from 'node:fs';
import path from 'node:path';
import { FAMILIES } from '../architectures/registry.js';
import { assertInsideFolder } from '../checkpoint/folder-files.js';
import { loadTokenizer, type TextInput } from '../checkpoint/tokenizer.js';
import { BertfuseError } from '../errors.js';
import type { QuantizeMode } from '../graph/quantize.js';
import { registerFolderLoader, type Classifier, type DetailedProbabilities, type LoadOptions } from '../runtime/classifier.js';
import { GraphRunner, type RunOptions } from '../runtime/runner.js';
import { softmaxRows } from '../util/math.js';
import { checkManifestAgainstGraph, checkManifestConsistency } from './manifest-graph.js';
import { isCombinedFolder, MANIFEST_FILE, readManifest, type CombinedManifest } from './manifest.js';
import { recordOf } from '../util/names.js';

/** A combined model folder, run as one ONNX session with one input group per tokenizer. */
export class CombinedClassifier implements Classifier {
  readonly name: string;
  readonly labels: readonly string[];
  readonly quantize: QuantizeMode | null;
  constructor(
    readonly source: string,
    readonly manifest: CombinedManifest,
    private readonly runner: GraphRunner,
  ) {
    this.name = path.basename(path.resolve(source));
    this.labels = manifest.labels;
    this.quantize = manifest.model.quantize ?? null;
  }

  async predictProba(inputs: readonly TextInput[], opts: RunOptions = {}): Promise<Float32Array> {
    const out = await this.runner.run(inputs, { ...opts, outputs: ['logits'] });
    return softmaxRows(out['logits']!.data, this.labels.length);
  }

  async predictDetailed(inputs: readonly TextInput[], opts: RunOptions = {}): Promise<DetailedProbabilities> {
    const k = this.labels.length;
    const ranOutputs = this.manifest.members.flatMap((m) => (m.ran !== undefined ? [m.ran] : []));
    const out = await this.runner.run(inputs, { ...opts, outputs: ['logits', ...this.manifest.members.map((m) => m.output), ...ranOutputs] });
    const members = recordOf(this.manifest.members.map((m) => [m.name, softmaxRows(out[m.output]!.data, k)] as const));
    const ran = recordOf(
      this.manifest.members.flatMap((m, i) => {
        if (m.ran !== undefined) return [[m.name, Uint8Array.from(out[m.ran]!.data, (x) => (x !== 0 ? 1 : 0))] as const];
        // Folders written before `ran_<member>` existed: the cascade left exact zeros where it skipped a member.
        if (i > 0 && this.manifest.method.name === 'cascade') return [[m.name, ranFromLogits(out[m.output]!.data, k)] as const];
        return [];
      }),
    );
    return { fused: softmaxRows(out['logits']!.data, k), members, ...(Object.keys(ran).length > 0 ? { ran } : {}) };
  }

  async close(): Promise<void> {
    await this.runner.close();
  }
}

/** 1 for rows with any non-zero logit (a member that ran), 0 for all-zero rows (a placeholder). */
function ranFromLogits(logits: Float32Array, k: number): Uint8Array {
  const n = logits.length / k;
  return Uint8Array.from({ length: n }, (_, i) => (logits.subarray(i * k, (i + 1) * k).some((x) => x !== 0) ? 1 : 0));
}

/** Opens a folder written by `writeCombined`; checks the manifest, tokenizers and graph signature. */
export async function loadCombined(dir: string, opts: LoadOptions = {}): Promise<CombinedClassifier> {
  assertInsideFolder(path.join(dir, MANIFEST_FILE), dir);
  const manifest = readManifest(dir);
  // A combined folder runs its model.onnx as written; quantising is a choice made when combining.
  // Asking an int8 folder for int8 is fine (as for a multi-task merge): it already is.
  const quantize = manifest.model.quantize ?? null;
  if (opts.quantize && opts.quantize !== quantize) {
    throw new BertfuseError('E_USAGE', `--quantize ${opts.quantize} applies to models built from weights; a combined folder runs its model.onnx as written (${quantize ?? 'float32'} here; combine with --quantize ${opts.quantize} for an ${opts.quantize} one)`, dir);
  }
  const manifestFile = path.join(dir, MANIFEST_FILE);
  checkManifestConsistency(manifest, manifestFile);
  const groups = manifest.tokenizers.map((t) => {
    const tdir = path.join(dir, t.dir);
    assertInsideFolder(tdir, dir);
    const family = FAMILIES.find((f) => f.name === (t.family ?? 'bert'));
    if (!family) throw new BertfuseError('E_BAD_CONFIG', `tokenizer group ${t.group} names family "${t.family}", which this bertfuse does not know (known: ${FAMILIES.map((f) => f.name).join(', ')})`, manifestFile);
    const tokenizer = loadTokenizer(tdir, t.maxLength, family.tokenizer, family.name);
    if (tokenizer.fingerprint !== t.fingerprint) throw new BertfuseError('E_BAD_TOKENIZER', `tokenizer files of group ${t.group} differ from the ones the model was combined with`, tdir);
    return { suffix: t.suffix, tokenizer };
  });
  const modelFile = path.join(dir, manifest.model.file);
  assertInsideFolder(modelFile, dir);
  if (manifest.model.externalData) assertInsideFolder(path.join(dir, manifest.model.externalData), dir);
  if (!fs.existsSync(modelFile)) throw new BertfuseError('E_MISSING_FILE', `${manifest.model.file} is missing (named in ${MANIFEST_FILE})`, dir);
  const runner = await GraphRunner.create(modelFile, groups, opts.runtime);
  const missing = manifest.model.outputs.filter((o) => !runner.outputNames.includes(o));
  const inputsMissing = manifest.model.inputs.filter((i) => !runner.session.inputNames.includes(i));
  if (missing.length > 0 || inputsMissing.length > 0) {
    await runner.close();
    throw new BertfuseError('E_BAD_ONNX', `graph does not match ${MANIFEST_FILE} (missing ${[...inputsMissing, ...missing].join(', ')})`, modelFile);
  }
  try {
    checkManifestAgainstGraph(manifest, runner.session, manifestFile, modelFile);
  } catch (e) {
    await runner.close();
    throw e;
  }
  if (manifest.labels.length < 2) throw new BertfuseError('E_BAD_CONFIG', 'fewer than two labels', manifestFile);
  return new CombinedClassifier(dir, manifest, runner);
}

let registered = false;
/** Lets `loadClassifier(folder)` (and so `bertfuse predict`) open combined folders. Idempotent. */
export function registerCombinedLoader(): void {
  if (registered) return;
  registered = true;
  registerFolderLoader(async (dir, opts) => (isCombinedFolder(dir) ? loadCombined(dir, opts) : null));
}
