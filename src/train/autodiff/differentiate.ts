import type { GraphBuilder } from '../../graph/onnx-builder.js';
import { GRAD_RULES } from './registry.js';
import { range } from './shapes.js';
import type { GradContext, GradRule, NodeProto, ShapeContext, SymShape } from './types.js';

export interface DifferentiateOptions {
  /** The scalar value to differentiate. */
  readonly loss: string;
  /** Values (initializers or graph inputs) to differentiate with respect to. */
  readonly params: readonly string[];
  /** Static shapes of the graph inputs (symbols for dynamic axes); initializers are read from the builder. */
  readonly inputShapes: Readonly<Record<string, SymShape>>;
}

/** Why a graph cannot be differentiated: names the op so a missing rule is obvious. */
export class GradientError extends Error {}

const FLOAT = 1;

/**
 * Reverse-mode differentiation of the graph built so far in `g`: appends, after the forward nodes,
 * the nodes computing d loss / d param for every param, and returns param → gradient value (null
 * when the loss does not depend on the param). Each forward op contributes through its rule in
 * GRAD_RULES; gradients of values used several times are summed.
 */
export function differentiate(g: GraphBuilder, opts: DifferentiateOptions): Map<string, string | null> {
  const forward = [...g.mutableNodes()];
  const shapes = inferShapes(g, forward, opts.inputShapes);
  const needs = requiresGrad(forward, opts.params);
  const relevant = reachesLoss(forward, opts.loss);

  const contributions = new Map<string, string[]>();
  const summed = new Map<string, string>();
  const add = (v: string, grad: string): void => {
    const list = contributions.get(v);
    if (list) list.push(grad);
    else contributions.set(v, [grad]);
  };
  const total = (v: string): string | null => {
    const done = summed.get(v);
    if (done) return done;
    const list = contributions.get(v);
    if (!list || list.length === 0) return null;
    const s = list.length === 1 ? list[0]! : g.op('Sum', list);
    summed.set(v, s);
    return s;
  };

  add(opts.loss, g.scalarFloat(1, 'grad_seed'));
  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k]!;
    const outs = node.output ?? [];
    if (!outs.some((o) => needs.has(o) && relevant.has(o))) continue;
    const rule = ruleFor(node);
    if (!rule.grad) throw new GradientError(`${node.opType} (${node.name}) has no gradient rule but lies between a parameter and the loss`);
    const ctx = gradContext(g, node, shapes, (i) => {
      const v = node.input?.[i];
      return !!v && needs.has(v) && relevant.has(v);
    }, total);
    const grads = rule.grad(ctx);
    grads.forEach((gr, i) => {
      const v = node.input?.[i];
      if (gr && v && needs.has(v)) add(v, gr);
    });
  }
  return new Map(opts.params.map((p) => [p, total(p)]));
}

function ruleFor(node: NodeProto): GradRule {
  const rule = GRAD_RULES.get(node.domain ? `${node.domain}.${node.opType}` : (node.opType ?? ''));
  if (!rule) throw new GradientError(`no gradient rule for ${node.domain ? `${node.domain}.` : ''}${node.opType} (${node.name}): training graphs need plain ONNX ops (or a contrib op with a rule)`);
  return rule;
}

/** Values that depend on a parameter through ops that are not discrete. */
function requiresGrad(nodes: readonly NodeProto[], params: readonly string[]): Set<string> {
  const set = new Set(params);
  for (const node of nodes) {
    if (!(node.input ?? []).some((v) => set.has(v))) continue;
    // Discrete outputs (and casts to integers) carry no gradient; an op with no rule at all keeps
    // its outputs marked, so the backward pass names it if the loss depends on them.
    if (ruleFor(node).discrete) continue;
    if (node.opType === 'Cast' && Number(intAttr(node, 'to') ?? 0) !== FLOAT) continue;
    for (const o of node.output ?? []) if (o) set.add(o);
  }
  return set;
}

/** Values the loss depends on. */
function reachesLoss(nodes: readonly NodeProto[], loss: string): Set<string> {
  const set = new Set([loss]);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k]!;
    if ((node.output ?? []).some((o) => set.has(o))) for (const v of node.input ?? []) if (v) set.add(v);
  }
  return set;
}

function intAttr(node: NodeProto, name: string): number | null {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? Number(a.i ?? 0) : null;
}

function shapeContext(g: GraphBuilder, node: NodeProto, shapes: Map<string, SymShape>): ShapeContext {
  const inputs = (node.input ?? []).map((v) => {
    if (!v) return [];
    const s = shapes.get(v);
    if (!s) throw new GradientError(`${node.opType} (${node.name}): shape of input "${v}" unknown`);
    return s;
  });
  return {
    node,
    inputs,
    attrInt: (name, fallback) => intAttr(node, name) ?? fallback,
    attrInts: (name) => {
      const a = node.attribute?.find((x) => x.name === name);
      return a ? (a.ints ?? []).map(Number) : null;
    },
    constInts: (i) => {
      const v = node.input?.[i];
      const d = v ? g.initializerData(v) : undefined;
      return d && d.data instanceof BigInt64Array ? Array.from(d.data, Number) : null;
    },
  };
}

/** Static shapes of every value of the graph built so far (as the differentiator sees them). */
export function valueShapes(g: GraphBuilder, inputShapes: Readonly<Record<string, SymShape>>): Map<string, SymShape> {
  return inferShapes(g, g.mutableNodes(), inputShapes);
}

function inferShapes(g: GraphBuilder, nodes: readonly NodeProto[], inputShapes: Readonly<Record<string, SymShape>>): Map<string, SymShape> {
  const shapes = new Map<string, SymShape>(Object.entries(inputShapes));
  // Declared input shapes win, so a caller can mark a parameter's axis as dynamic.
  for (const name of g.initializerNames()) if (!shapes.has(name)) shapes.set(name, g.initializerData(name)!.dims);
  for (const node of nodes) {
    const out = ruleFor(node).shape(shapeContext(g, node, shapes));
    (node.output ?? []).forEach((o, i) => {
      if (o) shapes.set(o, out[i] ?? []);
    });
  }
  return shapes;
}

function gradContext(
  g: GraphBuilder,
  node: NodeProto,
  shapes: Map<string, SymShape>,
  needs: (i: number) => boolean,
  total: (v: string) => string | null,
): GradContext {
  const base = shapeContext(g, node, shapes);
  const ints = (v: readonly number[]): string => g.constInt64([...v], [v.length], 'grad_axes');
  return {
    ...base,
    g,
    outputs: (node.output ?? []).map((o) => (o ? shapes.get(o) ?? [] : [])),
    gradOut: (i) => {
      const o = node.output?.[i];
      return o ? total(o) : null;
    },
    needs,
    scalar: (v) => g.scalarFloat(v, 'grad_c'),
    ints,
    reduceTo: (grad, from, i) => reduceTo(g, ints, grad, from, base.inputs[i]!, node.input![i]!),
  };
}

/**
 * The adjoint of numpy broadcasting: sums `grad` (shaped `from`) to the shape of `x`. Leading
 * axes x lacks are summed away; axes where x has size 1 are summed keeping them. When x's size on
 * some axis is unknown statically, the axes to sum are found at run time (where Shape(x) == 1).
 */
function reduceTo(g: GraphBuilder, ints: (v: readonly number[]) => string, grad: string, from: SymShape, to: SymShape, x: string): string {
  let out = grad;
  const lead = from.length - to.length;
  if (lead > 0) out = g.op('ReduceSum', [out, ints(range(0, lead))], { keepdims: { kind: 'int', value: 0 } });
  const staticAxes: number[] = [];
  let dynamic = false;
  to.forEach((d, i) => {
    const f = from[i + lead];
    if (d === f) return;
    if (d === 1) staticAxes.push(i);
    else if (typeof d !== 'number') dynamic = true;
  });
  if (dynamic) {
    const ones = g.op('Equal', [g.op('Shape', [x]), ints([1])]);
    const axes = g.op('Reshape', [g.op('NonZero', [ones]), ints([-1])]);
    return g.op('ReduceSum', [out, axes], { keepdims: { kind: 'int', value: 1 }, noop_with_empty_axes: { kind: 'int', value: 1 } });
  }
  if (staticAxes.length > 0) out = g.op('ReduceSum', [out, ints(staticAxes)], { keepdims: { kind: 'int', value: 1 } });
  return out;
}
