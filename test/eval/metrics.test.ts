import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accuracy,
  agreement,
  classificationMetrics,
  confusionMatrix,
  expectedCalibrationError,
  logLoss,
  macroF1,
  oracleAccuracy,
  predictions,
  reliabilityBins,
} from '../../src/eval/metrics.js';

// Six rows, three classes. Row 3 is a tie between 0 and 1 (argmax takes label 0).
const P = Float64Array.from([
  [0.7, 0.2, 0.1],
  [0.1, 0.62, 0.28],
  [0.3, 0.28, 0.42],
  [0.5, 0.5, 0.0],
  [0.05, 0.05, 0.9],
  [0.2, 0.7, 0.1],
].flat());
const Y = Int32Array.from([0, 1, 0, 1, 2, 1]);
const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('predictions, accuracy and the confusion matrix by hand', () => {
  assert.deepEqual([...predictions(P, 3)], [0, 1, 2, 0, 2, 1]);
  close(accuracy(P, Y, 3), 4 / 6);
  assert.deepEqual(confusionMatrix(P, Y, 3), [
    [1, 0, 1],
    [1, 2, 0],
    [0, 0, 1],
  ]);
});

test('macro-F1 by hand: classes 0.5, 0.8, 2/3', () => {
  close(macroF1(P, Y, 3), (0.5 + 0.8 + 2 / 3) / 3);
  // A class absent from gold and predictions is left out of the mean.
  const two = Float64Array.from([0.9, 0.1, 0, 0.2, 0.8, 0]);
  close(macroF1(two, Int32Array.from([0, 1]), 3), 1);
});

test('log-loss by hand, and clipping of a zero probability', () => {
  close(logLoss(P, Y, 3), -(Math.log(0.7) + Math.log(0.62) + Math.log(0.3) + Math.log(0.5) + Math.log(0.9) + Math.log(0.7)) / 6);
  close(logLoss(Float64Array.from([1, 0]), Int32Array.from([1]), 2), -Math.log(1e-15));
});

test('ECE with 15 bins by hand, and the reliability bins behind it', () => {
  // Max probabilities .7 .62 .42 .5 .9 .7 fall in bins 10, 9, 6, 7, 13, 10.
  close(expectedCalibrationError(P, Y, 3), (2 * 0.3 + 0.38 + 0.42 + 0.5 + 0.1) / 6);
  const bins = reliabilityBins(P, Y, 3);
  assert.equal(bins.length, 15);
  assert.deepEqual(bins.map((b) => b.count), [0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 2, 0, 0, 1, 0]);
  assert.equal(bins[0]!.confidence, null);
  close(bins[10]!.confidence!, 0.7);
  assert.equal(bins[10]!.accuracy, 1);
  assert.equal(bins[6]!.accuracy, 0);
  close(bins[6]!.lower, 6 / 15);
  // Probability 1 lands in the last bin.
  assert.equal(reliabilityBins(Float64Array.from([1, 0]), Int32Array.from([0]), 2)[14]!.count, 1);
  // Four rows at confidence 0.75: three right is perfect calibration, two right is off by 0.25.
  const cal = Float64Array.from([0.75, 0.25, 0.75, 0.25, 0.75, 0.25, 0.25, 0.75]);
  close(expectedCalibrationError(cal, Int32Array.from([0, 0, 1, 1]), 2), 0);
  close(expectedCalibrationError(cal, Int32Array.from([0, 1, 1, 1]), 2), Math.abs(0.5 - 0.75));
});

test('agreement and oracle accuracy', () => {
  const a = Float64Array.from([0.9, 0.1, 0.4, 0.6, 0.3, 0.7, 0.8, 0.2]); // preds 0 1 1 0
  const b = Float64Array.from([2, -1, 0, 3, 1, 0, -1, 2]); // logits: preds 0 1 0 1
  const y = Int32Array.from([0, 0, 0, 0]);
  close(agreement(a, b, 2), 2 / 4);
  close(oracleAccuracy([a, b], y, 2), 3 / 4); // rows 0, 2 (b), 3 (a)
  close(oracleAccuracy([a], y, 2), accuracy(a, y, 2));
});

test('classificationMetrics bundles them; shape errors are thrown', () => {
  const m = classificationMetrics(P, Y, 3);
  assert.equal(m.n, 6);
  close(m.accuracy, 4 / 6);
  close(m.ece, 2 / 6);
  assert.throws(() => accuracy(P, Int32Array.from([0, 1]), 3), /do not make/);
  assert.throws(() => accuracy(P, Int32Array.from([0, 1, 0, 1, 2, 3]), 3), /outside/);
});
