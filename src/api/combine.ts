import { combine as combineRecipe, type CombineOptions, type CombineOutcome } from '../artifact/combine.js';
import type { DataSpec, MemberSpec } from '../eval/prepare.js';
import { FUSION_METHODS } from '../fusion/registry.js';
import { baseMergeCandidates, mergeCandidates } from '../merge/auto-candidates.js';
import { withCombineDefaults, type CombineRecipe } from '../recipe/combine.js';

/**
 * What `combine()` needs from a caller: members and data, everything else has the CLI's defaults.
 * Paths may be plain strings; `options` is also accepted as `parameters` (the merge recipe's word).
 *
 *   await combine({ members: ['a', 'b'], data: 'dev.tsv', out: 'combined/' });
 */
export interface CombineSpec {
  readonly members: readonly (string | MemberSpec)[];
  readonly data: string | DataSpec;
  readonly out: string;
  /** Score here instead of out-of-fold on `data`; further files get a block each and a robustness summary. */
  readonly evalData?: string | DataSpec | readonly (string | DataSpec)[] | null;
  readonly labels?: readonly string[] | null;
  readonly labelMap?: Readonly<Record<string, string>>;
  /** A fusion method, or `auto` (default): every method and, where the members allow, weight merges. */
  readonly method?: string;
  readonly options?: Readonly<Record<string, number | boolean | string>>;
  readonly parameters?: Readonly<Record<string, number | boolean | string>>;
  readonly seed?: number;
  readonly folds?: number;
  readonly resamples?: number;
  readonly minGain?: number;
  readonly maxCost?: number;
  readonly maxBarrier?: number;
  readonly allowBelowChance?: boolean;
  /** The members' common parent: `auto` also searches task arithmetic / TIES merges from it. */
  readonly mergeBase?: string;
}

const asData = (d: string | DataSpec): DataSpec => (typeof d === 'string' ? { path: d } : d);

/** The full recipe a spec stands for, with the defaults every combine path shares (COMBINE_DEFAULTS). */
export function combineRecipeFrom(spec: CombineSpec): CombineRecipe {
  const evalList = spec.evalData === undefined || spec.evalData === null ? [] : typeof spec.evalData === 'string' || !Array.isArray(spec.evalData) ? [spec.evalData as string | DataSpec] : (spec.evalData as readonly (string | DataSpec)[]);
  // A full CombineRecipe keeps its further eval sets in extraEvalData.
  const evalData = [...evalList.map(asData), ...((spec as Partial<CombineRecipe>).extraEvalData ?? [])];
  const full = spec as Partial<CombineRecipe>;
  return withCombineDefaults({
    members: spec.members.map((m) => (typeof m === 'string' ? { path: m } : m)),
    data: asData(spec.data),
    evalData: evalData[0],
    extraEvalData: evalData.length > 1 ? evalData.slice(1) : undefined,
    labels: spec.labels,
    labelMap: spec.labelMap,
    method: spec.method,
    options: spec.options ?? spec.parameters,
    seed: spec.seed,
    folds: spec.folds,
    out: spec.out,
    resamples: spec.resamples,
    minGain: spec.minGain,
    maxCost: spec.maxCost,
    maxBarrier: spec.maxBarrier,
    allowBelowChance: spec.allowBelowChance ? true : undefined,
    mergeBase: spec.mergeBase,
    // A full CombineRecipe (from readCombineRecipe) keeps its int8 export (it was dropped here before).
    quantize: full.quantize,
  });
}

/**
 * `bertfuse combine` as a function, with the CLI's defaults and the same `auto` (every fusion
 * method, plus one-encoder weight merges where the members allow them). Accepts a short spec or a
 * full `CombineRecipe` (e.g. from `readCombineRecipe`); `opts` overrides any default.
 */
export async function combine(spec: CombineSpec | CombineRecipe, opts: Partial<CombineOptions> = {}): Promise<CombineOutcome> {
  const recipe = combineRecipeFrom(spec as CombineSpec);
  return combineRecipe(recipe, {
    registry: FUSION_METHODS,
    autoCandidates: [mergeCandidates, ...(recipe.mergeBase ? [baseMergeCandidates(recipe.mergeBase, recipe.seed)] : [])],
    ...opts,
  });
}
