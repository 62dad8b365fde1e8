import type { GraphBuilder } from '../graph/onnx-builder.js';

/**
 * One member's outputs on a dataset, already aligned to the common label list: column j of
 * `logits` is label j of the fusion for every member, whatever the member's own index order.
 */
export interface MemberRows {
  readonly name: string;
  /** Row-major [n, k] raw logits, label-aligned. */
  readonly logits: Float64Array;
  /** Row-major [n, hiddenSize] pooler output (tanh), or null if the member has no pooler. */
  readonly pooled: Float32Array | null;
  /** Row-major [n, hiddenSize] final hidden state of [CLS]. */
  readonly cls: Float32Array | null;
  readonly hiddenSize: number;
  /** Relative inference cost of running this member once (1 = the cheapest member). */
  readonly cost: number;
}

/** All members' outputs on the same n rows. */
export interface MemberOutputs {
  readonly n: number;
  readonly k: number;
  readonly members: readonly MemberRows[];
}

export interface FitContext {
  /** Gold label index per row (into the common label list). */
  readonly labels: Int32Array;
  /** Seed for every random choice (fold assignment, initialisation): same seed, same params. */
  readonly seed: number;
  /** Folds for inner cross-validation (regularisation choice). */
  readonly folds: number;
}

/** A declared option of a method: shown by --help, validated before fitting. */
export interface ParamSpec {
  readonly name: string;
  readonly type: 'number' | 'boolean' | 'string';
  readonly default: number | boolean | string;
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** For numbers: only whole values are accepted. */
  readonly integer?: boolean;
}

/** JSON-serialisable fitted parameters (they go into bertfuse.json). */
export type FusionParams = { readonly [key: string]: unknown };

/** Graph values a fusion head can read: each member's label-aligned logits and embeddings. */
export interface EmitInputs {
  readonly logits: readonly string[];
  readonly pooled: readonly (string | null)[];
  readonly cls: readonly (string | null)[];
  readonly k: number;
}

/**
 * One fusion method. The same fitted params drive `apply` (in-process evaluation) and `emit`
 * (ONNX nodes); the conformance test checks both give the same probabilities.
 */
export interface FusionMethod<P extends FusionParams = FusionParams> {
  readonly name: string;
  /** Earlier names still accepted in flags, recipes and manifests (`soft_vote` for geometric_mean). */
  readonly aliases?: readonly string[];
  readonly summary: string;
  readonly options: readonly ParamSpec[];
  fit(outputs: MemberOutputs, ctx: FitContext, options: Readonly<Record<string, unknown>>): P;
  /** Fused probabilities, row-major [n, k]. */
  apply(outputs: MemberOutputs, params: P): Float64Array;
  /** Adds nodes computing fused log-probabilities [batch, k]; returns the value's name. */
  emit(g: GraphBuilder, inputs: EmitInputs, params: P): string;
  /**
   * Extra numbers about one application, for the eval table (e.g. cascade's
   * `fallback_fraction` and expected `cost`). Methods without it always run every member, so
   * their cost is the sum of the members' costs.
   */
  stats?(outputs: MemberOutputs, params: P): Record<string, number>;
  /** Which member embeddings `apply`/`emit` read with these params (null: logits only). */
  embeddings?(params: P): 'pooled' | 'cls' | null;
  /**
   * Methods that need the other members only on some rows (the cascade): nodes computing, from the
   * first member's label-aligned logits, a bool [batch] that is true where the rest must run. The
   * composer then runs members 2.. on those rows alone and scatters their logits back (zeros
   * elsewhere), so the graph really skips the work; `emit` must not read them on other rows.
   */
  gate?(g: GraphBuilder, firstLogits: string, params: P): string;
}
