import type onnxProto from 'onnx-proto';
import type { GraphBuilder } from '../../graph/onnx-builder.js';

export type NodeProto = onnxProto.onnx.INodeProto;

/**
 * A dimension known while differentiating: a number, a symbol shared by every value with the same
 * runtime size ("batch", "sequence"), or null when nothing is known. Ranks are always known.
 */
export type SymDim = number | string | null;
export type SymShape = readonly SymDim[];

/** What shape inference sees of one node. */
export interface ShapeContext {
  readonly node: NodeProto;
  /** Static shapes of the node's inputs ('' inputs give []). */
  readonly inputs: readonly SymShape[];
  attrInt(name: string, fallback: number): number;
  attrInts(name: string): readonly number[] | null;
  /** Values of an input that is a constant initializer (Reshape's shape, Unsqueeze's axes), else null. */
  constInts(inputIndex: number): readonly number[] | null;
}

/** What a gradient rule sees: the forward node, its shapes, and a builder to emit backward nodes into. */
export interface GradContext extends ShapeContext {
  readonly g: GraphBuilder;
  readonly outputs: readonly SymShape[];
  /** Gradient flowing into output i, or null when the loss does not depend on it. */
  gradOut(i: number): string | null;
  /** Whether input i needs a gradient (it depends on a trainable parameter). */
  needs(i: number): boolean;
  /** Sums `grad` (shaped like output `fromShape`) down to input i's shape: the broadcasting adjoint. */
  reduceTo(grad: string, fromShape: SymShape, inputIndex: number): string;
  /** A float scalar constant. */
  scalar(v: number): string;
  /** An int64 1-D constant. */
  ints(v: readonly number[]): string;
}

/**
 * One op's differentiation: its output shapes from its input shapes, and either the gradient of
 * each input from the gradients of its outputs (`grad`), or `discrete`: the outputs are booleans or
 * integers (comparisons, Not, Shape, Range), so no gradient flows through by nature and a parameter
 * upstream simply stops there. An op with neither has no rule yet: the differentiator refuses a
 * graph where it lies between a parameter and the loss rather than silently cutting the path.
 */
export interface GradRule {
  shape(ctx: ShapeContext): SymShape[];
  grad?(ctx: GradContext): (string | null)[];
  readonly discrete?: true;
}
