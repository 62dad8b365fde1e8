/**
 * Mixture weights on the simplex maximising the likelihood of the gold labels under
 * p(y | x) = Σ_m w_m·p_m(y | x), i.e. minimising the log-loss of the weighted mean.
 *
 * The EM update w_m ← mean_i [w_m·p_m(y_i) / Σ_j w_j·p_j(y_i)] keeps w on the simplex and never
 * increases the log-loss; the log-loss is convex in w, so from the uniform start it converges to
 * the global optimum (slowly when a weight heads to 0, which then ends merely tiny). Computed in
 * log space so members that give the gold label probability ~0 cannot divide by zero.
 */
export function fitMixtureWeights(logps: readonly Float64Array[], labels: ArrayLike<number>, k: number, opts: { maxIterations?: number; tolerance?: number } = {}): number[] {
  const M = logps.length;
  const n = labels.length;
  const maxIterations = opts.maxIterations ?? 10_000;
  const tolerance = opts.tolerance ?? 1e-10;
  // log p_m(y_i): the only numbers the objective depends on.
  const lp = logps.map((l) => Float64Array.from({ length: n }, (_, i) => l[i * k + labels[i]!]!));
  let w = new Array<number>(M).fill(1 / M);
  if (M === 1 || n === 0) return w;
  const terms = new Float64Array(M);
  for (let it = 0; it < maxIterations; it++) {
    const logw = w.map(Math.log);
    const next = new Array<number>(M).fill(0);
    for (let i = 0; i < n; i++) {
      let mx = -Infinity;
      for (let m = 0; m < M; m++) {
        terms[m] = logw[m]! + lp[m]![i]!;
        mx = Math.max(mx, terms[m]!);
      }
      let s = 0;
      for (let m = 0; m < M; m++) s += Math.exp(terms[m]! - mx);
      const lse = mx + Math.log(s);
      for (let m = 0; m < M; m++) next[m]! += Math.exp(terms[m]! - lse);
    }
    const total = next.reduce((a, b) => a + b, 0);
    const normalised = next.map((v) => v / total);
    const change = Math.max(...normalised.map((v, m) => Math.abs(v - w[m]!)));
    w = normalised;
    if (change < tolerance) break;
  }
  return w;
}
