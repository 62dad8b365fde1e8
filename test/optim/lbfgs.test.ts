import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minimizeLbfgs, type Objective } from '../../src/optim/lbfgs.js';

test('L-BFGS solves a convex quadratic to its closed-form optimum', () => {
  // f(x) = ½ xᵀAx − bᵀx with A = [[4,1,0],[1,3,1],[0,1,2]] (SPD); optimum A⁻¹b.
  const A = [
    [4, 1, 0],
    [1, 3, 1],
    [0, 1, 2],
  ];
  const b = [1, 2, 3];
  // A⁻¹ by cofactors: det = 4·(6−1) − 1·(2−0) = 18.
  const inv = [
    [5, -2, 1],
    [-2, 8, -4],
    [1, -4, 11],
  ].map((r) => r.map((v) => v / 18));
  const want = inv.map((r) => r.reduce((s, v, j) => s + v * b[j]!, 0));
  const fg: Objective = (x, g) => {
    let f = 0;
    for (let i = 0; i < 3; i++) {
      let ax = 0;
      for (let j = 0; j < 3; j++) ax += A[i]![j]! * x[j]!;
      g[i] = ax - b[i]!;
      f += 0.5 * x[i]! * ax - b[i]! * x[i]!;
    }
    return f;
  };
  const r = minimizeLbfgs(fg, [0, 0, 0], { gradientTolerance: 1e-10, relativeDecrease: 0 });
  assert.equal(r.stop, 'gradient');
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(r.x[i]! - want[i]!) < 1e-9, `x[${i}] = ${r.x[i]} want ${want[i]}`);
  assert.ok(r.iterations <= 10, `a 3-d quadratic should take few iterations, took ${r.iterations}`);
});

test('L-BFGS solves an ill-conditioned 50-d quadratic (condition number 1e4)', () => {
  // scipy's L-BFGS-B (maxcor 10) needs ~1,080 iterations here too.
  const n = 50;
  const diag = Array.from({ length: n }, (_, i) => 10 ** ((4 * i) / (n - 1)));
  const fg: Objective = (x, g) => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const r = x[i]! - (i + 1);
      g[i] = diag[i]! * r;
      f += 0.5 * diag[i]! * r * r;
    }
    return f;
  };
  const r = minimizeLbfgs(fg, new Float64Array(n), { gradientTolerance: 1e-8, maxIterations: 2000, relativeDecrease: 0 });
  assert.equal(r.stop, 'gradient');
  for (let i = 0; i < n; i++) assert.ok(Math.abs(r.x[i]! - (i + 1)) < 1e-6, `x[${i}] = ${r.x[i]}`);
});

test('L-BFGS finds the Rosenbrock minimum (1, 1) from (-1.2, 1)', () => {
  const fg: Objective = (x, g) => {
    const [a, b] = [x[0]!, x[1]!];
    g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
    g[1] = 200 * (b - a * a);
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
  };
  const r = minimizeLbfgs(fg, [-1.2, 1], { gradientTolerance: 1e-9 });
  assert.ok(Math.abs(r.x[0]! - 1) < 1e-6 && Math.abs(r.x[1]! - 1) < 1e-6, `x = ${[...r.x]}`);
  assert.ok(r.f < 1e-12);
});

test('L-BFGS is deterministic', () => {
  const fg: Objective = (x, g) => {
    g[0] = 4 * (x[0]! - 3) ** 3;
    g[1] = 2 * (x[1]! + 1);
    return (x[0]! - 3) ** 4 + (x[1]! + 1) ** 2;
  };
  const a = minimizeLbfgs(fg, [0, 0]);
  const b = minimizeLbfgs(fg, [0, 0]);
  assert.deepEqual([...a.x], [...b.x]);
  assert.equal(a.iterations, b.iterations);
});
