export interface ScalarMinimum {
  readonly x: number;
  readonly f: number;
  readonly iterations: number;
}

export interface ScalarOptions {
  /**
   * Relative tolerance on x (an absolute 1e-12 is added so x = 0 converges). Below √ε ≈ 1.5e-8
   * the function values of a smooth minimum are equal in float64, so smaller buys nothing.
   */
  readonly tolerance?: number;
  readonly maxIterations?: number;
}

/** (3 − √5) / 2: the golden-section fraction. */
const GOLDEN = 0.3819660112501051;

/**
 * Brent's method: minimum of a unimodal f on (lo, hi) without derivatives. Each step fits a
 * parabola through the three best points and takes its vertex when that is safe (inside the
 * bracket and shrinking faster than the step before last), else a golden-section step, so it is
 * never slower than golden section and superlinear near a smooth minimum. The end points
 * themselves are never evaluated; a minimum at a bound is approached to within the tolerance.
 */
export function minimizeScalar(f: (x: number) => number, lo: number, hi: number, opts: ScalarOptions = {}): ScalarMinimum {
  if (!(lo < hi)) throw new Error(`minimizeScalar: empty bracket [${lo}, ${hi}]`);
  const tol = opts.tolerance ?? 1.5e-8;
  const maxIterations = opts.maxIterations ?? 200;
  let a = lo;
  let b = hi;
  // x: best so far; w: second best; v: previous w.
  let x = a + GOLDEN * (b - a);
  let w = x;
  let v = x;
  let fx = f(x);
  let fw = fx;
  let fv = fx;
  let step = 0; // the step just taken
  let stepBefore = 0; // the one before: parabolic steps must shrink faster than this
  for (let it = 0; it < maxIterations; it++) {
    const mid = 0.5 * (a + b);
    const tol1 = tol * Math.abs(x) + 1e-12;
    const tol2 = 2 * tol1;
    if (Math.abs(x - mid) <= tol2 - 0.5 * (b - a)) return { x, f: fx, iterations: it };
    let golden = true;
    if (Math.abs(stepBefore) > tol1) {
      const r = (x - w) * (fx - fv);
      let q = (x - v) * (fx - fw);
      let p = (x - v) * q - (x - w) * r;
      q = 2 * (q - r);
      if (q > 0) p = -p;
      else q = -q;
      if (Math.abs(p) < Math.abs(0.5 * q * stepBefore) && p > q * (a - x) && p < q * (b - x)) {
        stepBefore = step;
        step = p / q;
        const u = x + step;
        if (u - a < tol2 || b - u < tol2) step = x < mid ? tol1 : -tol1;
        golden = false;
      }
    }
    if (golden) {
      stepBefore = (x < mid ? b : a) - x;
      step = GOLDEN * stepBefore;
    }
    const u = Math.abs(step) >= tol1 ? x + step : x + (step > 0 ? tol1 : -tol1);
    const fu = f(u);
    if (fu <= fx) {
      if (u < x) b = x;
      else a = x;
      v = w;
      fv = fw;
      w = x;
      fw = fx;
      x = u;
      fx = fu;
    } else {
      if (u < x) a = u;
      else b = u;
      if (fu <= fw || w === x) {
        v = w;
        fv = fw;
        w = u;
        fw = fu;
      } else if (fu <= fv || v === x || v === w) {
        v = u;
        fv = fu;
      }
    }
  }
  return { x, f: fx, iterations: maxIterations };
}
