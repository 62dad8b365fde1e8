/**
 * A merge method is a pure function over aligned tensors: the members' values of one tensor (same
 * name, same shape, already permuted and label-ordered to the first member), the base model's value
 * when the method uses one, and its parameters resolved for this tensor. The driver owns reading,
 * alignment, streaming and writing; a method owns only the math.
 */

/** Scalar parameter values after resolution for one tensor (strings: a `choice` such as rescale: density). */
export type ParamScalar = number | boolean | string;
export type ResolvedParams = Readonly<Record<string, ParamScalar>>;

/**
 * A declared parameter. `model`-scoped ones (weight, density) may be given per model or globally
 * as a default for every model; `global` ones (lambda, t, alpha) only globally.
 */
export interface MergeParamSpec {
  readonly name: string;
  readonly scope: 'global' | 'model';
  readonly type: 'number' | 'boolean' | 'choice';
  /** Absent: the parameter is required (mergekit's `weight`, slerp's `t`). */
  readonly default?: ParamScalar;
  /** For `choice`: the accepted values. */
  readonly choices?: readonly ParamScalar[];
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
}

/** Everything a method sees for one tensor. */
export interface TensorMergeInput {
  /** Output tensor name (e.g. `bert.encoder.layer.0.attention.self.query.weight`). */
  readonly name: string;
  readonly shape: readonly number[];
  /** One array per member, aligned to member 0 (permutations and label order applied). */
  readonly tensors: readonly Float32Array[];
  /** The base model's tensor, aligned likewise; null when the method does not use a base. */
  readonly base: Float32Array | null;
  readonly params: ResolvedParams;
  /** Per-member parameters (model-scoped specs), in member order. */
  readonly modelParams: readonly ResolvedParams[];
  /** A seed derived from the recipe seed and this tensor's name (DARE's masks). */
  readonly seed: number;
  /**
   * RegMean statistics: for the weight of a linear layer, each member's Gram matrix of that
   * layer's inputs ([in, in], row-major, aligned like the weights); null for other tensors.
   */
  readonly grams: readonly Float64Array[] | null;
  /** Fisher merging: each member's diagonal Fisher of this tensor (same shape, aligned likewise); null otherwise. */
  readonly fisher?: readonly Float32Array[] | null;
}

export interface MergedTensor {
  readonly data: Float32Array;
  /** Something the user should know about this tensor (a numerical fallback, a degenerate case). */
  readonly note?: string;
}

export interface MergeMethod {
  readonly name: string;
  readonly summary: string;
  /**
   * `required`: task vectors against base_model; `optional`: used when given (nuslerp's task
   * vectors, slerp's v0); `none`: base_model is not used (and refused).
   */
  readonly base: 'required' | 'optional' | 'none';
  /**
   * slerp: base_model names which model is v0 (t = 0); it must be one of the models (or the
   * second one), and goes first.
   */
  readonly baseIsMember?: boolean;
  readonly minModels: number;
  readonly maxModels: number;
  readonly params: readonly MergeParamSpec[];
  /** Statistics the method needs from running the members on texts. */
  /** Statistics the method needs from running the members on texts: RegMean's Gram matrices, or the diagonal Fisher. */
  readonly stats: 'gram' | 'fisher' | null;
  merge(input: TensorMergeInput): MergedTensor;
}

export function numParam(p: ResolvedParams, name: string): number {
  const v = p[name];
  if (typeof v !== 'number') throw new Error(`parameter "${name}" is not a resolved number`);
  return v;
}

export function stringParam(p: ResolvedParams, name: string): string {
  const v = p[name];
  if (typeof v !== 'string') throw new Error(`parameter "${name}" is not a resolved choice`);
  return v;
}

export function boolParam(p: ResolvedParams, name: string): boolean {
  const v = p[name];
  if (typeof v !== 'boolean') throw new Error(`parameter "${name}" is not a resolved boolean`);
  return v;
}
