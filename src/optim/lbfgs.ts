/** f(x), writing ∇f(x) into `grad`. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Number of (s, y) pairs kept for the inverse-Hessian estimate. */
  readonly memory?: number;
  readonly maxIterations?: number;
  /** Stop when max |∇f| ≤ this. */
  readonly gradientTolerance?: number;
  /** Stop when one step lowers f by less than this fraction of max(|f|, 1). */
  readonly relativeDecrease?: number;
}

export type LbfgsStop = 'gradient' | 'decrease' | 'iterations' | 'line-search';

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly f: number;
  /** max |∇f| at x. */
  readonly gradientNorm: number;
  readonly iterations: number;
  readonly stop: LbfgsStop;
}

/**
 * Limited-memory BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed., algorithms 7.4 and 7.5)
 * with a strong-Wolfe line search (algorithms 3.5 and 3.6, cubic interpolation in the zoom).
 * Deterministic: the same objective and start give the same iterates. Meant for the smooth,
 * mostly convex problems of fusion fitting (softmax regression with L2), where it converges in
 * tens to a few hundred iterations.
 */
export function minimizeLbfgs(fg: Objective, x0: ArrayLike<number>, opts: LbfgsOptions = {}): LbfgsResult {
  const m = opts.memory ?? 10;
  const maxIterations = opts.maxIterations ?? 500;
  const gtol = opts.gradientTolerance ?? 1e-6;
  const ftol = opts.relativeDecrease ?? 1e-12;
  const n = x0.length;

  let x: Float64Array = Float64Array.from(x0);
  let g: Float64Array = new Float64Array(n);
  let f = fg(x, g);
  if (!Number.isFinite(f)) throw new Error(`minimizeLbfgs: objective is ${f} at the start point`);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const alpha = new Float64Array(m);

  for (let it = 0; it < maxIterations; it++) {
    const gnorm = maxAbs(g);
    if (gnorm <= gtol) return { x, f, gradientNorm: gnorm, iterations: it, stop: 'gradient' };

    // Two-loop recursion: d = −H·g with H the L-BFGS inverse-Hessian estimate.
    for (let i = 0; i < n; i++) d[i] = -g[i]!;
    for (let j = S.length - 1; j >= 0; j--) {
      alpha[j] = rho[j]! * dot(S[j]!, d);
      axpy(-alpha[j]!, Y[j]!, d);
    }
    if (S.length > 0) {
      const last = S.length - 1;
      scale(dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!), d);
    }
    for (let j = 0; j < S.length; j++) {
      const beta = rho[j]! * dot(Y[j]!, d);
      axpy(alpha[j]! - beta, S[j]!, d);
    }
    if (dot(d, g) >= 0) {
      // Not a descent direction (numerical trouble): forget the curvature and go downhill.
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i]!;
    }
    const first = S.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(g, g))) : 1;
    const step = wolfeLineSearch(fg, x, f, g, d, first);
    if (!step) {
      if (S.length === 0) return { x, f, gradientNorm: gnorm, iterations: it, stop: 'line-search' };
      S.length = Y.length = rho.length = 0;
      continue;
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = step.x[i]! - x[i]!;
      y[i] = step.g[i]! - g[i]!;
    }
    const sy = dot(s, y);
    // Keep the pair only with positive curvature, so H stays positive definite.
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    const decrease = f - step.f;
    x = step.x;
    g = step.g;
    f = step.f;
    if (decrease <= ftol * Math.max(Math.abs(f), 1)) return { x, f, gradientNorm: maxAbs(g), iterations: it + 1, stop: 'decrease' };
  }
  return { x, f, gradientNorm: maxAbs(g), iterations: maxIterations, stop: 'iterations' };
}

interface Trial {
  readonly a: number;
  readonly f: number;
  /** Directional derivative ∇f(x + a·d)·d. */
  readonly df: number;
  readonly x: Float64Array;
  readonly g: Float64Array;
}

const C1 = 1e-4;
const C2 = 0.9;

/** A step satisfying the strong Wolfe conditions along d, or null if none was found. */
function wolfeLineSearch(fg: Objective, x: Float64Array, f0: number, g0: Float64Array, d: Float64Array, first: number): Trial | null {
  const df0 = dot(g0, d);
  const at = (a: number): Trial => {
    const xa = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) xa[i] = x[i]! + a * d[i]!;
    const ga = new Float64Array(x.length);
    const fa = fg(xa, ga);
    return { a, f: Number.isFinite(fa) ? fa : Infinity, df: dot(ga, d), x: xa, g: ga };
  };
  const sufficient = (t: Trial): boolean => t.f <= f0 + C1 * t.a * df0;
  const curvature = (t: Trial): boolean => Math.abs(t.df) <= -C2 * df0;

  let prev: Trial = { a: 0, f: f0, df: df0, x, g: g0 };
  let a = first;
  for (let i = 0; i < 30; i++) {
    const t = at(a);
    if (!sufficient(t) || (i > 0 && t.f >= prev.f)) return zoom(prev, t);
    if (curvature(t)) return t;
    if (t.df >= 0) return zoom(t, prev);
    prev = t;
    a *= 2;
  }
  return null;

  function zoom(lo: Trial, hi: Trial): Trial | null {
    for (let j = 0; j < 40; j++) {
      const width = hi.a - lo.a;
      let a = cubicMinimum(lo, hi);
      // Stay well inside the interval so it keeps shrinking.
      const left = Math.min(lo.a, hi.a) + 0.1 * Math.abs(width);
      const right = Math.max(lo.a, hi.a) - 0.1 * Math.abs(width);
      if (!Number.isFinite(a) || a < left || a > right) a = 0.5 * (lo.a + hi.a);
      const t = at(a);
      if (!sufficient(t) || t.f >= lo.f) hi = t;
      else {
        if (curvature(t)) return t;
        if (t.df * width >= 0) hi = lo;
        lo = t;
      }
      if (Math.abs(hi.a - lo.a) < 1e-16 * Math.max(1, Math.abs(lo.a))) break;
    }
    // No strong-Wolfe point found, but a point with sufficient decrease is still progress.
    return lo.a > 0 && sufficient(lo) ? lo : null;
  }
}

/** Minimiser of the cubic matching f and f' at both ends (NaN when it has none). */
function cubicMinimum(p: Trial, q: Trial): number {
  if (!Number.isFinite(p.f) || !Number.isFinite(q.f)) return NaN;
  const d1 = p.df + q.df - (3 * (p.f - q.f)) / (p.a - q.a);
  const disc = d1 * d1 - p.df * q.df;
  if (disc < 0) return NaN;
  const d2 = Math.sign(q.a - p.a) * Math.sqrt(disc);
  return q.a - ((q.a - p.a) * (q.df + d2 - d1)) / (q.df - p.df + 2 * d2);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += alpha * x[i]!;
}
function scale(alpha: number, x: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] *= alpha;
}
function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
