import fs from 'node:fs';
import path from 'node:path';
import { BertfuseError } from '../errors.js';
import type { FusionParams } from '../fusion/types.js';
import type { MetricsSummary } from '../eval/result.js';

export const MANIFEST_FILE = 'bertfuse.json';
export const COMBINED_FORMAT = 'bertfuse-combined';
/** Bumped when a reader of the previous version could misread a new folder. */
export const COMBINED_FORMAT_VERSION = 1;

export interface ManifestTokenizer {
  readonly group: number;
  /** Input-name suffix of this group ("" for group 0). */
  readonly suffix: string;
  /** Folder holding its files, relative to the artifact ("." for group 0). */
  readonly dir: string;
  readonly maxLength: number;
  /** BertTokenizer.fingerprint: checked on load, so swapped tokenizer files are caught. */
  readonly fingerprint: string;
  readonly files: readonly string[];
  /** Family whose tokenizer template the group uses (src/architectures/); absent in folders from before families: "bert". */
  readonly family?: string;
}

export interface ManifestMember {
  readonly name: string;
  /** Where the member was loaded from, as given. */
  readonly source: string;
  /** sha256 over the member's weight files in order (`weightFiles`). */
  readonly sha256: string;
  readonly weightFiles: readonly string[];
  readonly group: number;
  /** The member's own label order (after the label map). */
  readonly labels: readonly string[];
  /** alignment[j] = the member's class index for common label j. */
  readonly alignment: readonly number[];
  /** Graph output holding its label-aligned logits. */
  readonly output: string;
  /**
   * Graph output (bool [batch, 1]) saying on which rows the member ran, for a member that a gate
   * (the cascade) runs on some rows only; absent when it runs on every row.
   */
  readonly ran?: string;
  readonly architecture: string;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly vocabSize: number;
}

export interface CombinedManifest {
  readonly format: typeof COMBINED_FORMAT;
  readonly formatVersion: number;
  readonly tool: { readonly name: 'bertfuse'; readonly version: string };
  /** The common label list: column j of every output is labels[j]. */
  readonly labels: readonly string[];
  readonly model: {
    readonly file: string;
    readonly inputs: readonly string[];
    readonly outputs: readonly string[];
    readonly opset: number;
    /** Weights in a side file (models over ~1.8 GB), else null. */
    readonly externalData: string | null;
    /** True when `onnx/model.onnx` + config/tokenizer files follow the transformers.js layout. */
    readonly transformersLayout: boolean;
    /** Dynamic int8 quantisation of the members' encoder layers (`combine --quantize int8`); absent = float. */
    readonly quantize?: 'int8';
  };
  readonly tokenizers: readonly ManifestTokenizer[];
  readonly members: readonly ManifestMember[];
  readonly method: { readonly name: string; readonly options: Readonly<Record<string, unknown>>; readonly params: FusionParams };
  readonly metrics: MetricsSummary | null;
}

/** The stable JSON text of a manifest (keys in declaration order, 2-space indent, final newline). */
export function manifestText(m: CombinedManifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}

/** Is `dir` a combined-model folder? (Cheap: only looks for the manifest and its format tag.) */
export function isCombinedFolder(dir: string): boolean {
  const file = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(file)) return false;
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as { format?: unknown };
    return v.format === COMBINED_FORMAT;
  } catch {
    return true; // ours by name but broken: let readManifest say why
  }
}

function fail(file: string, what: string): never {
  throw new BertfuseError('E_BAD_CONFIG', what, file);
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isInts = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x));

/** Reads and checks bertfuse.json: everything the loader relies on is validated here. */
export function readManifest(dir: string): CombinedManifest {
  const file = path.join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(file, `cannot read the manifest (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof raw !== 'object' || raw === null) fail(file, 'not a JSON object');
  const m = raw as Record<string, unknown>;
  if (m['format'] !== COMBINED_FORMAT) fail(file, `"format" is ${JSON.stringify(m['format'])}, expected "${COMBINED_FORMAT}"`);
  const version = m['formatVersion'];
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) fail(file, '"formatVersion" must be a positive integer');
  if (version > COMBINED_FORMAT_VERSION) fail(file, `format version ${version} is newer than this bertfuse understands (${COMBINED_FORMAT_VERSION}); upgrade bertfuse`);
  const labels = m['labels'];
  if (!isStrings(labels) || labels.length < 2) fail(file, '"labels" must list at least two names');
  const model = m['model'] as Record<string, unknown> | undefined;
  if (!model || typeof model['file'] !== 'string' || !isStrings(model['inputs']) || !isStrings(model['outputs'])) fail(file, '"model" must give file, inputs and outputs');
  // Like the tokenizer dirs: a downloaded folder must not make the loader open files outside it.
  const inside = (p: string): boolean => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..');
  if (!inside(model['file'] as string)) fail(file, '"model.file" must stay inside the folder');
  if (typeof model['externalData'] === 'string' && !inside(model['externalData'])) fail(file, '"model.externalData" must stay inside the folder');
  const toks = m['tokenizers'];
  if (!Array.isArray(toks) || toks.length === 0) fail(file, '"tokenizers" must list at least one group');
  toks.forEach((t: Record<string, unknown>, i) => {
    if (typeof t !== 'object' || t === null) fail(file, `tokenizers[${i}] is not an object`);
    if (t['group'] !== i || typeof t['suffix'] !== 'string' || typeof t['dir'] !== 'string' || !Number.isSafeInteger(t['maxLength']) || typeof t['fingerprint'] !== 'string') {
      fail(file, `tokenizers[${i}] must have group ${i}, suffix, dir, maxLength and fingerprint`);
    }
    if (path.isAbsolute(t['dir'] as string) || (t['dir'] as string).split(/[\\/]/).includes('..')) fail(file, `tokenizers[${i}].dir must stay inside the folder`);
  });
  const members = m['members'];
  if (!Array.isArray(members) || members.length < 1) fail(file, '"members" must be a non-empty list');
  members.forEach((x: Record<string, unknown>, i) => {
    if (typeof x !== 'object' || x === null) fail(file, `members[${i}] is not an object`);
    if (typeof x['name'] !== 'string' || !isInts(x['alignment']) || !isStrings(x['labels']) || !Number.isSafeInteger(x['group'])) fail(file, `members[${i}] is incomplete`);
  });
  const method = m['method'] as Record<string, unknown> | undefined;
  if (!method || typeof method['name'] !== 'string') fail(file, '"method" must name the fusion method');
  return raw as CombinedManifest;
}
