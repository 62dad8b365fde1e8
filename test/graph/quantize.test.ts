import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { FUSED_OPS, PLAIN_OPS, type EncoderOps } from '../../src/graph/bert-graph.js';
import { buildBertGraph, buildBertModel } from '../../src/graph/bert-model.js';
import { MS_DOMAIN } from '../../src/graph/fused-ops.js';
import { encodeModel, GraphBuilder } from '../../src/graph/onnx-builder.js';
import { INT8_KERNELS, isEncoderLayerNode, quantizeGraph, quantizePerColumn, type Int8Kernel } from '../../src/graph/quantize.js';
import { BertfuseError } from '../../src/errors.js';
import { classifierFromCheckpoint, classifierFromOnnx } from '../../src/runtime/classifier.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { createSession } from '../../src/runtime/session.js';
import { Rng } from '../../src/util/rng.js';
import { fixture, reference } from '../helpers/fixtures.js';

describe('per-column weight quantisation', () => {
  test('scales are max|column| / qmax and values round to the nearest step', () => {
    // [[0.25, -2, 0], [-1, 1.5, 0]]: column maxima 1, 2, 0 (an all-zero column keeps scale 1).
    const w = Float32Array.from([0.25, -2, 0, -1, 1.5, 0]);
    const q8 = quantizePerColumn(w, 2, 3, 127);
    assert.deepEqual([...q8.scales], [Math.fround(1 / 127), Math.fround(2 / 127), 1]);
    // 0.25·127 = 31.75 → 32; 1.5·127/2 = 95.25 → 95
    assert.deepEqual([...q8.q], [32, -127, 0, -127, 95, 0]);
    const q7 = quantizePerColumn(w, 2, 3, 63);
    // 0.25·63 = 15.75 → 16; 1.5·63/2 = 47.25 → 47
    assert.deepEqual([...q7.q], [16, -63, 0, -63, 47, 0]);
  });

  test('dequantised weights are within half a step of the originals', () => {
    const rng = new Rng(3);
    const w = Float32Array.from({ length: 40 * 24 }, () => rng.normal());
    const { q, scales } = quantizePerColumn(w, 40, 24, 127);
    w.forEach((v, i) => assert.ok(Math.abs(q[i]! * scales[i % 24]! - v) <= scales[i % 24]! / 2 + 1e-7));
  });
});

/** ONNX DynamicQuantizeLinear: uint8, asymmetric, range always including 0, round half to even. */
function dynamicQuantize(x: Float32Array): { q: Uint8Array; scale: number; zp: number } {
  const roundEven = (v: number): number => {
    const r = Math.round(v);
    return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  const lo = Math.min(0, ...x);
  const hi = Math.max(0, ...x);
  const scale = Math.fround((hi - lo) / 255);
  const zp = Math.min(255, Math.max(0, roundEven(-lo / scale)));
  const q = Uint8Array.from(x, (v) => Math.min(255, Math.max(0, roundEven(v / scale) + zp)));
  return { q, scale, zp };
}

describe('quantizeGraph on a single linear layer', () => {
  const [n, K, N] = [5, 48, 20];
  const rng = new Rng(11);
  const W = Float32Array.from({ length: K * N }, () => rng.normal() * 0.1);
  const b = Float32Array.from({ length: N }, () => rng.normal());
  const x = Float32Array.from({ length: n * K }, () => rng.normal());

  function linearGraph(): GraphBuilder {
    const g = new GraphBuilder('linear');
    const input = g.input('x', 'float', ['n', K]);
    // Named like an encoder-layer node so the default selection picks it.
    const mm = g.op('MatMul', [input, g.initializer('w', W, [K, N])], {}, { name: 'l0_dense_mm' });
    g.output(g.op('Add', [mm, g.initializer('b', b, [N])], {}, { name: 'l0_dense' }), 'y', 'float', ['n', N]);
    return g;
  }

  async function run(g: GraphBuilder): Promise<Float32Array> {
    const s = await createSession(encodeModel(g.toModel()));
    try {
      return (await s.run({ x: new ort.Tensor('float32', x, [n, K]) }))['y']!.data as Float32Array;
    } finally {
      await s.release();
    }
  }

  for (const kernel of INT8_KERNELS) {
    test(`${kernel}: integer arithmetic matches the quantisation formula computed by hand`, async () => {
      const g = linearGraph();
      const report = quantizeGraph(g, { kernel, weightBits: 7 });
      assert.equal(report.matmuls, 1);
      assert.equal(report.bytesBefore, K * N * 4);
      assert.equal(report.bytesAfter, K * N + N * 4);
      assert.equal(g.mutableNodes().filter((nd) => nd.opType === 'MatMul').length, 0, 'no float MatMul left');
      assert.equal(g.initializerData('w'), undefined, 'float weight removed');
      const got = await run(g);

      // Independent computation: quantise x per tensor, weights per column (7 bits), integer dot, rescale.
      const xq = dynamicQuantize(x);
      const { q, scales } = quantizePerColumn(W, K, N, 63);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < N; j++) {
          let acc = 0;
          for (let k = 0; k < K; k++) acc += (xq.q[i * K + k]! - xq.zp) * q[k * N + j]!;
          const want = acc * xq.scale * scales[j]! + b[j]!;
          assert.ok(Math.abs(got[i * N + j]! - want) <= 1e-4, `[${i},${j}] ${got[i * N + j]} vs ${want}`);
        }
      }
    });
  }

  test('int8 result stays close to the float product', async () => {
    const fp = await run(linearGraph());
    const g = linearGraph();
    quantizeGraph(g, {});
    const i8 = await run(g);
    const range = Math.max(...fp.map(Math.abs));
    fp.forEach((v, i) => assert.ok(Math.abs(v - i8[i]!) <= 0.03 * range, `${i}: ${i8[i]} vs float ${v}`));
  });

  test('nodes outside the selection are left alone', () => {
    const g = linearGraph();
    const report = quantizeGraph(g, { select: () => false });
    assert.equal(report.matmuls, 0);
    assert.ok(g.initializerData('w'));
  });
});

describe('quantised BERT', () => {
  test('encoder-layer selection matches scoped and unscoped layer nodes, not heads', () => {
    for (const name of ['n_l0_q_mm', 'n_l11_inter_mm', 'n_sst2-sibling-a.l3_ctx', 'n_m.1.l0_out_mm']) assert.ok(isEncoderLayerNode(name), name);
    for (const name of ['n_pooler_mm', 'n_a.classifier_mm', 'n_mlm_dense_mm', 'n_all_mm', 'n_model_l2.pooler_mm']) assert.ok(!isEncoderLayerNode(name), name);
  });

  const variants: [string, EncoderOps, Int8Kernel][] = [
    ['fused ops, QAttention + DynamicQuantizeMatMul', FUSED_OPS, 'dynamic-quantize-matmul'],
    ['MultiHeadAttention, MatMulIntegerToFloat', { ...FUSED_OPS, attention: 'mha' }, 'matmul-integer-to-float'],
    ['plain ONNX only (MatMulInteger)', PLAIN_OPS, 'matmul-integer'],
  ];
  for (const [label, ops, kernel] of variants) {
    test(`${label}: every encoder linear layer is int8 and logits stay near PyTorch`, async () => {
      const ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
      const ref = reference('sst2-sibling-a');
      try {
        const g = buildBertGraph(ckpt, { ops, quantize: 'int8', quantizeOptions: { kernel } });
        const nodes = g.mutableNodes();
        const floatLayerMatMuls = nodes.filter((n) => n.opType === 'MatMul' && isEncoderLayerNode(n.name!) && g.initializerData(n.input![1]!));
        assert.equal(floatLayerMatMuls.length, 0);
        if (ops.attention === 'attention') assert.equal(nodes.filter((n) => n.opType === 'QAttention').length, ckpt.config.numLayers);
        if (kernel === 'matmul-integer') assert.ok(nodes.every((n) => (n.domain ?? '') === ''), 'standard ONNX domain only');
        // Heads stay float.
        assert.ok(nodes.some((n) => n.opType === 'MatMul' && n.name === 'n_classifier_mm'));

        const runner = await GraphRunner.create(encodeModel(g.toModel()), [{ suffix: '', tokenizer: ckpt.tokenizer }]);
        try {
          const out = (await runner.run(ref.inputs.map((x) => ({ text: x.text, textPair: x.text_pair })), { batchSize: 8 }))['logits']!.data;
          let agree = 0;
          ref.inputs.forEach((x, i) => {
            const [a, c] = [out[2 * i]!, out[2 * i + 1]!];
            assert.ok(Math.abs(a - x.logits![0]!) < 0.15 && Math.abs(c - x.logits![1]!) < 0.15, `${x.id}: [${a}, ${c}] vs ${x.logits}`);
            if ((a > c ? 0 : 1) === (x.logits![0]! > x.logits![1]! ? 0 : 1)) agree++;
          });
          assert.ok(agree >= ref.inputs.length - 2, `${agree}/${ref.inputs.length} labels agree`);
        } finally {
          await runner.close();
        }
      } finally {
        ckpt.close();
      }
    });
  }

  test('weights shrink about 4x and the model is smaller on disk', () => {
    const ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
    try {
      const fp = encodeModel(buildBertModel(ckpt)).byteLength;
      const g = buildBertGraph(ckpt);
      const report = quantizeGraph(g);
      assert.ok(report.bytesAfter < report.bytesBefore / 3.5, `${report.bytesAfter} vs ${report.bytesBefore}`);
      const i8 = encodeModel(g.toModel()).byteLength;
      assert.ok(fp - i8 > 0.7 * (report.bytesBefore - report.bytesAfter), `${fp} → ${i8}`);
      assert.ok(g.mutableNodes().some((n) => n.domain === MS_DOMAIN));
    } finally {
      ckpt.close();
    }
  });
});

describe('quantize as a load option', () => {
  test('classifierFromCheckpoint builds an int8 graph: probabilities move a little, labels hold', async () => {
    const ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
    const texts = reference('sst2-sibling-a').inputs.slice(0, 12).map((x) => ({ text: x.text }));
    const fp = await classifierFromCheckpoint(ckpt);
    const i8 = await classifierFromCheckpoint(ckpt, { quantize: 'int8' });
    try {
      const [a, b] = [await fp.predictProba(texts), await i8.predictProba(texts)];
      let moved = 0;
      a.forEach((p, i) => {
        assert.ok(Math.abs(p - b[i]!) < 0.05, `${i}: ${b[i]} vs ${p}`);
        moved = Math.max(moved, Math.abs(p - b[i]!));
      });
      assert.ok(moved > 1e-6, 'the int8 graph is really a different graph');
    } finally {
      await fp.runner.close();
      await i8.close();
    }
  });

  test('an .onnx file cannot be quantised on load: one clear error', async () => {
    await assert.rejects(classifierFromOnnx('/nonexistent/model.onnx', { quantize: 'int8' }), (e: Error) => e instanceof BertfuseError && /applies to models built from weights/.test(e.message));
  });
});
