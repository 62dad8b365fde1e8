/**
 * A member's inference cost: FLOPs of its forward passes over the scored rows, by the one per-family
 * formula in `architectures/flops.ts` (the bench's share of the MatMul ceiling uses it too).
 */
export { datasetFlops, forwardFlops } from '../architectures/flops.js';
/** The name this function had when it knew only BERT; kept for library users. */
export { forwardFlops as bertFlops } from '../architectures/flops.js';

/** Costs relative to the cheapest (the cheapest is 1). */
export function relativeCosts(flops: readonly number[]): number[] {
  const min = Math.min(...flops);
  return flops.map((f) => (min > 0 ? f / min : 1));
}
