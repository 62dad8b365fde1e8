import fs from 'node:fs';
import path from 'node:path';
import { classifierArchitecture, toHfConfig } from '../checkpoint/config.js';
import { slowTokenizerJson, type BertTokenizer } from '../checkpoint/tokenizer.js';
import type { EvalResult, MetricsSummary } from '../eval/result.js';
import type { FusionMethod, FusionParams } from '../fusion/types.js';
import { buildCombinedGraph, groupInputList, memberOutputName, memberRanName } from '../graph/combine.js';
import { saveOnnx } from '../graph/save.js';
import { quantizeGraph, type QuantizeMode } from '../graph/quantize.js';
import { memberSha256, type MemberSet } from '../members/load.js';
import { VERSION } from '../paths.js';
import { withTempDir, writeFileAtomic } from '../util/atomic.js';
import { assertReplaceable } from '../util/ownership.js';
import { modelCard } from './model-card.js';
import { BertfuseError } from '../errors.js';
import { COMBINED_FORMAT, COMBINED_FORMAT_VERSION, MANIFEST_FILE, manifestText, type CombinedManifest, type ManifestTokenizer } from './manifest.js';

export interface WriteCombinedOptions<P extends FusionParams> {
  readonly set: MemberSet;
  readonly method: FusionMethod<P>;
  readonly options: Readonly<Record<string, unknown>>;
  readonly params: P;
  readonly metrics: MetricsSummary | null;
  /** Also keep the full evaluation as eval.json (for `bertfuse report <folder>`); it holds the texts
   * of the rows the members disagree on, so it is opt-in. */
  readonly evalResult?: EvalResult;
  /** Quantise the members' encoder layers (dynamic int8), as single models are with `predict --quantize`. */
  readonly quantize?: QuantizeMode | null;
  /** Weights go to model.onnx_data above this many bytes (default: near protobuf's 2 GiB cap). */
  readonly externalThreshold?: number;
}

/** The full evaluation kept beside the manifest when asked for (read by `bertfuse report`). */
export const EVAL_FILE = 'eval.json';

export const MODEL_FILE = 'model.onnx';

/** Refuses, before any work, to replace anything but an untouched earlier bertfuse output (or an empty folder). */
export function checkOutputFolder(out: string): void {
  assertReplaceable(out);
}

export function tokenizerDir(group: number): string {
  return group === 0 ? '.' : `tokenizer_${group}`;
}

/**
 * Tokenizer files of one group. tokenizer.json and tokenizer_config.json are always written
 * (generated from vocab.txt, vocab.json + merges.txt, or the SentencePiece model when the member had none) because the transformers.js layout needs both.
 */
function writeTokenizer(tok: BertTokenizer, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, src] of Object.entries(tok.files).sort(([a], [b]) => a.localeCompare(b))) {
    fs.copyFileSync(src, path.join(dir, name));
    written.push(name);
  }
  let cfg: Record<string, unknown> = {};
  if (tok.files['tokenizer_config.json']) cfg = JSON.parse(fs.readFileSync(tok.files['tokenizer_config.json'], 'utf8')) as Record<string, unknown>;
  else {
    cfg = { do_lower_case: true, model_max_length: tok.maxLength, tokenizer_class: 'BertTokenizer' };
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(cfg, null, 2) + '\n');
    written.push('tokenizer_config.json');
  }
  const from = Object.values(tok.files)[0];
  const slow = !tok.files['tokenizer.json'] && from ? slowTokenizerJson(path.dirname(from), cfg, tok.spec) : null;
  if (slow) {
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(slow.json));
    written.push('tokenizer.json');
  }
  return written.sort();
}

/** Hard link when the filesystem allows (no second copy of the weights), else copy. */
function linkOrCopy(src: string, dest: string): void {
  try {
    fs.linkSync(src, dest);
  } catch {
    fs.copyFileSync(src, dest);
  }
}

/**
 * Writes the combined model folder: model.onnx (every member + the fusion head), bertfuse.json,
 * tokenizer files per group, config.json, README.md; and, when there is one tokenizer, the
 * transformers.js layout (onnx/model.onnx). Built in a temp sibling and renamed into place, so
 * `out` is either the complete new folder or untouched. No timestamps: same inputs, same bytes.
 */
export async function writeCombined<P extends FusionParams>(out: string, opts: WriteCombinedOptions<P>): Promise<CombinedManifest> {
  const { set, method, params } = opts;
  const graphMembers = set.members.map((m) => ({ name: m.name, weights: m.checkpoint, group: m.group, alignment: m.alignment }));
  const graph = buildCombinedGraph({
    members: graphMembers,
    labels: set.labels,
    method,
    params,
  });
  if (opts.quantize === 'int8') quantizeGraph(graph);
  // Last pass before saving: tensors the members share (or constants repeated per member) once.
  graph.shareIdenticalInitializers();
  const oneTokenizer = set.groups.length === 1;
  const inputs = set.groups.flatMap((g) => groupInputList(graphMembers, g.index));
  // A gating method (the cascade) runs members 2.. on some rows only; the graph says which (ran_<member>).
  const ranOutput = (i: number): string | null => (method.gate && i > 0 ? memberRanName(set.members[i]!.name) : null);
  const outputs = ['logits', ...set.members.map((m) => memberOutputName(m.name)), ...set.members.flatMap((_, i) => ranOutput(i) ?? [])];
  checkOutputFolder(out);
  const shas = set.members.map((m) => memberSha256(m));

  return withTempDir(out, (tmp) => {
    const { external } = saveOnnx(graph, path.join(tmp, MODEL_FILE), opts.externalThreshold !== undefined ? { externalThreshold: opts.externalThreshold } : {});
    const externalData = external ? `${MODEL_FILE}_data` : null;
    const tokenizers: ManifestTokenizer[] = set.groups.map((g) => {
      const dir = tokenizerDir(g.index);
      const files = writeTokenizer(g.tokenizer, path.join(tmp, dir));
      const family = set.members[g.members[0]!]!.checkpoint.config.family;
      return { group: g.index, suffix: g.suffix, dir, maxLength: g.tokenizer.maxLength, fingerprint: g.tokenizer.fingerprint, files, family };
    });
    const manifest: CombinedManifest = {
      format: COMBINED_FORMAT,
      formatVersion: COMBINED_FORMAT_VERSION,
      tool: { name: 'bertfuse', version: VERSION },
      labels: [...set.labels],
      model: { file: MODEL_FILE, inputs, outputs, opset: 17, externalData, transformersLayout: oneTokenizer, ...(opts.quantize === 'int8' ? { quantize: 'int8' as const } : {}) },
      tokenizers,
      members: set.members.map((m, i) => ({
        name: m.name,
        source: m.source,
        sha256: shas[i]!,
        weightFiles: m.checkpoint.weightFiles.map((f) => path.basename(f)),
        group: m.group,
        labels: [...m.ownLabels],
        alignment: [...m.alignment],
        output: memberOutputName(m.name),
        ...(ranOutput(i) !== null ? { ran: ranOutput(i)! } : {}),
        architecture: m.checkpoint.config.architecture,
        hiddenSize: m.checkpoint.config.hiddenSize,
        numLayers: m.checkpoint.config.numLayers,
        vocabSize: m.checkpoint.config.vocabSize,
      })),
      method: { name: method.name, options: { ...opts.options }, params },
      metrics: opts.metrics,
    };
    // config.json: what Hugging Face loaders read for labels (id2label) and the model type. The
    // encoder fields are the first member's; `bertfuse` points tools at the manifest.
    const first = set.members[0]!.checkpoint.config;
    const config = toHfConfig({ ...first, architecture: classifierArchitecture(first), task: 'classify', labels: set.labels }, {
      problem_type: 'single_label_classification',
      bertfuse: { format: COMBINED_FORMAT, manifest: MANIFEST_FILE, members: set.members.map((m) => m.name), method: method.name },
      // transformers.js fetches onnx/model.onnx_data only when the config says the weights are external.
      ...(externalData ? { 'transformers.js_config': { use_external_data_format: true } } : {}),
    });
    writeFileAtomic(path.join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    writeFileAtomic(path.join(tmp, MANIFEST_FILE), manifestText(manifest));
    writeFileAtomic(path.join(tmp, 'README.md'), modelCard(manifest));
    if (opts.evalResult) writeFileAtomic(path.join(tmp, EVAL_FILE), JSON.stringify(opts.evalResult, null, 2) + '\n');
    if (oneTokenizer) {
      fs.mkdirSync(path.join(tmp, 'onnx'));
      linkOrCopy(path.join(tmp, MODEL_FILE), path.join(tmp, 'onnx', MODEL_FILE));
      // transformers.js looks for the int8 graph under this name when asked for dtype 'q8'.
      if (opts.quantize === 'int8') linkOrCopy(path.join(tmp, MODEL_FILE), path.join(tmp, 'onnx', 'model_quantized.onnx'));
      if (externalData) linkOrCopy(path.join(tmp, externalData), path.join(tmp, 'onnx', externalData));
    }
    return manifest;
  }, { kind: 'combined' });
}
