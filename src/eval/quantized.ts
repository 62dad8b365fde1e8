import { foldSplit, kFolds } from '../data/folds.js';
import type { FusionParams, MemberOutputs } from '../fusion/types.js';
import { selectRows } from '../members/run.js';
import type { MethodChoice } from './evaluate.js';

/**
 * The exported method's probabilities when its members run quantised: parameters are fit on the
 * float members' outputs (as the export's are) and applied to the int8 members' outputs of rows
 * they were not fit on — out-of-fold with the same folds and seed as the float row, or the final
 * parameters on the eval rows. So the int8 row differs from the float row by quantisation alone.
 */
export function scoreQuantized(
  choice: MethodChoice,
  fit: { readonly float: MemberOutputs; readonly gold: Int32Array },
  scored: { readonly int8: MemberOutputs } | null,
  fitInt8: MemberOutputs,
  final: FusionParams,
  folds: number,
  seed: number,
): Float64Array {
  const { method, options } = choice;
  if (scored) return method.apply(scored.int8, final);
  const k = fit.float.k;
  const probs = new Float64Array(fit.float.n * k);
  const assignment = kFolds(fit.gold, folds, seed);
  for (let f = 0; f < folds; f++) {
    const { train, test } = foldSplit(assignment, f);
    if (test.length === 0) continue;
    const params = method.fit(selectRows(fit.float, train), { labels: Int32Array.from(train, (r) => fit.gold[r]!), seed, folds }, options);
    const p = method.apply(selectRows(fitInt8, test), params);
    test.forEach((r, i) => probs.set(p.subarray(i * k, (i + 1) * k), r * k));
  }
  return probs;
}
