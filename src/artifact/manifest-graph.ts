import path from 'node:path';
import { BertfuseError } from '../errors.js';
import type { CombinedManifest } from './manifest.js';

/*
 * A combined folder's bertfuse.json describes its graph: the label list is the width of `logits`,
 * each member's output is a graph output of the same width, each tokenizer group feeds its suffixed
 * inputs. A manifest edited by hand, or swapped between folders, that disagrees with the graph would
 * label columns wrongly or fail mid-request; so the two are checked against each other on load,
 * the manifest on its own first, then against the session's declared inputs and outputs.
 */

/** What the loader needs from an onnxruntime session (its declared signature). */
export interface GraphSignature {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly outputMetadata?: readonly { readonly name: string; readonly isTensor: boolean; readonly shape?: ReadonlyArray<number | string> }[];
}

const GROUP_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

function firstDuplicate(xs: readonly string[]): string | null {
  const seen = new Set<string>();
  for (const x of xs) {
    if (seen.has(x)) return x;
    seen.add(x);
  }
  return null;
}

const cut = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** The manifest agrees with itself: unique labels, members aligned to them, groups and outputs that exist. */
export function checkManifestConsistency(m: CombinedManifest, file: string): void {
  const bad = (msg: string): never => {
    throw new BertfuseError('E_BAD_CONFIG', msg, file);
  };
  const k = m.labels.length;
  if (m.labels.some((l) => l === '')) bad('"labels" has an empty name');
  const dupLabel = firstDuplicate(m.labels);
  if (dupLabel !== null) bad(`"labels" lists ${cut(dupLabel)} twice`);
  const suffixes = m.tokenizers.map((t) => t.suffix);
  const dupSuffix = firstDuplicate(suffixes);
  if (dupSuffix !== null) bad(`two tokenizer groups use the input suffix ${cut(dupSuffix)}`);
  const dupName = firstDuplicate(m.members.map((x) => x.name));
  if (dupName !== null) bad(`two members are named ${cut(dupName)}`);
  if (!m.model.outputs.includes('logits')) bad('"model.outputs" does not list "logits"');
  const outputs = new Set<string>();
  m.members.forEach((x, i) => {
    const at = `members[${i}] (${cut(x.name)})`;
    if (typeof x.output !== 'string' || x.output === 'logits' || !m.model.outputs.includes(x.output)) bad(`${at} output ${cut(String(x.output))} is not one of "model.outputs" besides "logits"`);
    if (outputs.has(x.output)) bad(`${at} output ${cut(x.output)} is also another member's`);
    outputs.add(x.output);
    if (x.ran !== undefined && (typeof x.ran !== 'string' || x.ran === 'logits' || !m.model.outputs.includes(x.ran) || outputs.has(x.ran))) bad(`${at} ran ${cut(String(x.ran))} is not one of "model.outputs" of its own`);
    if (x.ran !== undefined) outputs.add(x.ran);
    if (!Number.isSafeInteger(x.group) || x.group < 0 || x.group >= m.tokenizers.length) bad(`${at} uses tokenizer group ${x.group}, but there are ${m.tokenizers.length}`);
    if (x.labels.length !== k) bad(`${at} has ${x.labels.length} labels but the model has ${k}`);
    if (x.alignment.length !== k) bad(`${at} alignment has ${x.alignment.length} entries for ${k} labels`);
    const used = new Set<number>();
    for (const a of x.alignment) {
      if (!Number.isSafeInteger(a) || a < 0 || a >= x.labels.length || used.has(a)) bad(`${at} alignment [${x.alignment.slice(0, 10).join(', ')}] is not a permutation of its ${x.labels.length} classes`);
      used.add(a);
    }
  });
}

/** The manifest agrees with the graph it ships with: inputs per group, outputs, output widths. */
export function checkManifestAgainstGraph(m: CombinedManifest, graph: GraphSignature, file: string, modelFile: string): void {
  const model = path.basename(modelFile);
  const bad = (msg: string): never => {
    throw new BertfuseError('E_BAD_ONNX', `${msg} (${model} disagrees with the manifest)`, file);
  };
  const inputs = new Set(graph.inputNames);
  for (const t of m.tokenizers) {
    for (const name of ['input_ids', 'attention_mask']) {
      if (!inputs.has(`${name}${t.suffix}`)) bad(`tokenizer group ${t.group} feeds "${name}${t.suffix}", which the graph does not take (inputs: ${graph.inputNames.slice(0, 12).join(', ')})`);
    }
  }
  const fed = new Set(m.tokenizers.flatMap((t) => GROUP_INPUTS.map((n) => `${n}${t.suffix}`)));
  const unfed = graph.inputNames.filter((n) => !fed.has(n));
  if (unfed.length > 0) bad(`the graph needs inputs no tokenizer group feeds: ${unfed.slice(0, 8).join(', ')}`);
  const outputs = new Set(graph.outputNames);
  const missing = [...new Set(['logits', ...m.model.outputs, ...m.members.flatMap((x) => (x.ran !== undefined ? [x.output, x.ran] : [x.output]))])].filter((o) => !outputs.has(o));
  if (missing.length > 0) bad(`outputs ${missing.slice(0, 8).map((o) => JSON.stringify(o)).join(', ')} are listed but missing from the graph`);
  const k = m.labels.length;
  for (const meta of graph.outputMetadata ?? []) {
    if (meta.name !== 'logits' && !m.members.some((x) => x.output === meta.name)) continue;
    if (!meta.isTensor) bad(`output "${meta.name}" is not a tensor`);
    const width = meta.shape?.[meta.shape.length - 1];
    // A symbolic width cannot be checked here; a number must equal the label count.
    if (typeof width === 'number' && width !== k) bad(`output "${meta.name}" has ${width} columns but "labels" lists ${k} names`);
  }
}
