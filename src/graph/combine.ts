import type { FusionMethod, FusionParams } from '../fusion/types.js';
import { familyOf } from '../architectures/registry.js';
import { emitBert, type BertWeights, type EncoderInputs } from './bert-graph.js';
import { attr, GraphBuilder } from './onnx-builder.js';
import { gatedRows, gatherInputs, scatterRows, type GatedRows } from './row-gate.js';

/** What the composer needs from one member. */
export interface GraphMember {
  readonly name: string;
  readonly weights: BertWeights;
  /** Tokenizer group whose inputs this member reads. */
  readonly group: number;
  /** `alignment[j]` = the member's class index for common label j. */
  readonly alignment: readonly number[];
}

export interface CombinedGraphSpec<P extends FusionParams> {
  readonly members: readonly GraphMember[];
  readonly labels: readonly string[];
  readonly method: FusionMethod<P>;
  readonly params: P;
}

/** Input names of tokenizer group `g`: plain for the first group, `_<g>`-suffixed for the others. */
export function groupInputNames(g: number): { inputIds: string; attentionMask: string; tokenTypeIds: string } {
  const s = g === 0 ? '' : `_${g}`;
  return { inputIds: `input_ids${s}`, attentionMask: `attention_mask${s}`, tokenTypeIds: `token_type_ids${s}` };
}

/**
 * The inputs group `g` declares: `token_type_ids` only when a member reading the group has token
 * types (BERT, ELECTRA); DistilBERT, RoBERTa and XLM-R take none.
 */
export function groupInputList(members: readonly Pick<GraphMember, 'group' | 'weights'>[], g: number): string[] {
  const names = groupInputNames(g);
  const types = members.some((m) => m.group === g && familyOf(m.weights.config).tokenizer.tokenTypes);
  return types ? [names.inputIds, names.attentionMask, names.tokenTypeIds] : [names.inputIds, names.attentionMask];
}

export function memberOutputName(member: string): string {
  return `logits_${member}`;
}

/**
 * Output `ran_<member>` (bool [batch, 1]) of a member that a gate (the cascade) runs on some rows
 * only: true where it ran. Where it is false the member's `logits_<member>` row is a placeholder
 * (zeros), not an answer. [batch, 1] rather than [batch] so that batched servers (Triton) take it.
 */
export function memberRanName(member: string): string {
  return `ran_${member}`;
}

/**
 * ONE graph holding every member and the fusion head: per-group inputs → each member's encoder
 * (scoped, so names never collide) → its logits reordered to the common label list by a Gather on
 * axis 1 → the method's nodes. Outputs `logits` (fused log-probabilities, so softmax gives the fused
 * distribution and a Hugging Face pipeline reads it as logits) and `logits_<member>` (aligned).
 */
export function buildCombinedGraph<P extends FusionParams>(spec: CombinedGraphSpec<P>): GraphBuilder {
  const k = spec.labels.length;
  const g = new GraphBuilder(`bertfuse_${spec.method.name}`);
  const groupCount = Math.max(...spec.members.map((m) => m.group)) + 1;
  const inputs: EncoderInputs[] = [];
  for (let gi = 0; gi < groupCount; gi++) {
    if (!spec.members.some((m) => m.group === gi)) throw new Error(`tokenizer group ${gi} has no member`);
    const names = groupInputNames(gi);
    const dims = gi === 0 ? ['batch', 'sequence'] : ['batch', `sequence${gi}`];
    const types = groupInputList(spec.members, gi).includes(names.tokenTypeIds);
    inputs.push({
      inputIds: g.input(names.inputIds, 'int64', dims),
      attentionMask: g.input(names.attentionMask, 'int64', dims),
      tokenTypeIds: types ? g.input(names.tokenTypeIds, 'int64', dims) : null,
    });
  }
  const logits: string[] = [];
  const pooled: (string | null)[] = [];
  const cls: (string | null)[] = [];
  // A gating method (the cascade) runs members 2.. only on the rows its gate lets through.
  let gated: GatedRows | null = null;
  let gateMask: string | null = null;
  const gatedInputs = new Map<number, EncoderInputs>();
  for (const [i, m] of spec.members.entries()) {
    if (m.alignment.length !== k) throw new Error(`member ${m.name}: alignment has ${m.alignment.length} entries for ${k} labels`);
    let memberInputs = inputs[m.group]!;
    if (gated) {
      if (!gatedInputs.has(m.group)) gatedInputs.set(m.group, gatherInputs(g, memberInputs, gated, `gate_g${m.group}`));
      memberInputs = gatedInputs.get(m.group)!;
    }
    const enc = emitBert(g, m.weights, memberInputs, { scope: m.name });
    if (!enc.logits) throw new Error(`member ${m.name} has no classification head`);
    const index = g.constInt64([...m.alignment], [k], `${m.name}.label_order`);
    const aligned = g.op('Gather', [enc.logits, index], { axis: attr.int(1) }, { name: `${m.name}.aligned_logits` });
    logits.push(gated ? scatterRows(g, aligned, gated, logits[0]!, `${m.name}.gated`) : aligned);
    pooled.push(gated ? null : enc.pooled);
    cls.push(gated ? null : enc.cls);
    if (i === 0 && spec.method.gate) {
      gateMask = spec.method.gate(g, aligned, spec.params);
      gated = gatedRows(g, gateMask, 'gate');
    }
  }
  const fused = spec.method.emit(g, { logits, pooled, cls, k }, spec.params);
  g.output(fused, 'logits', 'float', ['batch', k]);
  spec.members.forEach((m, i) => g.output(logits[i]!, memberOutputName(m.name), 'float', ['batch', k]));
  if (gateMask !== null) {
    const ran = g.op('Unsqueeze', [gateMask, g.constInt64([1], [1], 'gate_ran_axis')], {}, { name: 'gate_ran' });
    spec.members.slice(1).forEach((m) => g.output(g.op('Identity', [ran], {}, { name: `${m.name}.ran` }), memberRanName(m.name), 'bool', ['batch', 1]));
  }
  return g;
}
