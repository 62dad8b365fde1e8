import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { loadClassifier, type Classifier } from '../../src/runtime/classifier.js';
import type { OipInferResponse } from '../../src/serve/oip.js';
import { createServer, type PredictResponse } from '../../src/serve/server.js';
import { fixture, reference } from '../helpers/fixtures.js';
import { OIP_SCHEMAS, type OipSchemaName } from './oip-schema.js';

/*
 * The Open Inference Protocol on `bertfuse serve`: every response (and every request the tests
 * send) validates against the protocol's schema; the numbers equal /v1 and reference.json.
 */

const ajv = new Ajv({ strict: true, allErrors: true });
ajv.addSchema(OIP_SCHEMAS.tensor_data);
const validators = new Map<OipSchemaName, ValidateFunction>();
function assertValid(name: OipSchemaName, value: unknown): void {
  let v = validators.get(name);
  if (!v) validators.set(name, (v = ajv.compile(OIP_SCHEMAS[name])));
  assert.ok(v(value), `${name}: ${ajv.errorsText(v.errors)} in ${JSON.stringify(value).slice(0, 300)}`);
}

/** Elements of (possibly nested) tensor data equal the product of its shape. */
function assertShapeHolds(o: { shape: readonly number[]; data: readonly unknown[] }): void {
  assert.equal(o.data.flat(8).length, o.shape.reduce((a, d) => a * d, 1), `shape ${JSON.stringify(o.shape)}`);
}

let model: Classifier;
let app: FastifyInstance;
let url = '';
const NAME = 'sst2-stranger-b';
const ref = reference(NAME);
const singles = ref.inputs.filter((x) => x.text_pair === null);
const pairs = ref.inputs.filter((x) => x.text_pair !== null);

async function call(method: 'GET' | 'POST', p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}${p}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function infer(body: unknown, p = `/v2/models/${NAME}/infer`): Promise<OipInferResponse> {
  if (typeof body !== 'string') assertValid('inference_request', body);
  const r = await call('POST', p, body);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assertValid('inference_response', r.json);
  const res = r.json as unknown as OipInferResponse;
  for (const o of res.outputs) assertShapeHolds(o);
  return res;
}

before(async () => {
  model = await loadClassifier(fixture(NAME), { runtime: { threads: 1 } });
  app = createServer(model, { maxTexts: 40, maxChars: 2000 });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app.close();
  await model.close();
});

describe('OIP: health and metadata', () => {
  test('server live, ready and metadata', async () => {
    const live = await call('GET', '/v2/health/live');
    assert.equal(live.status, 200);
    assertValid('live_server_response', live.json);
    assert.equal(live.json['live'], true);
    const ready = await call('GET', '/v2/health/ready');
    assert.equal(ready.status, 200);
    assertValid('ready_server_response', ready.json);
    assert.equal(ready.json['ready'], true);
    const meta = await call('GET', '/v2');
    assert.equal(meta.status, 200);
    assertValid('metadata_server_response', meta.json);
    assert.equal(meta.json['name'], 'bertfuse');
  });

  test('model metadata names a BYTES text input and the two outputs, with or without /versions/1', async () => {
    for (const p of [`/v2/models/${NAME}`, `/v2/models/${NAME}/versions/1`]) {
      const r = await call('GET', p);
      assert.equal(r.status, 200);
      assertValid('metadata_model_response', r.json);
      assert.equal(r.json['name'], NAME);
      assert.deepEqual(r.json['versions'], ['1']);
      assert.deepEqual(r.json['inputs'], [{ name: 'text', datatype: 'BYTES', shape: [-1] }]);
      assert.deepEqual(r.json['outputs'], [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
        { name: 'label', datatype: 'BYTES', shape: [-1] },
      ]);
      const ready = await call('GET', `${p}/ready`);
      assert.equal(ready.status, 200);
      assertValid('ready_model_response', ready.json);
      assert.deepEqual(ready.json, { name: NAME, ready: true });
    }
  });

  test('another model name or version: 404 with the protocol error object', async () => {
    for (const [method, p] of [['GET', '/v2/models/other'], ['GET', '/v2/models/other/ready'], ['GET', `/v2/models/${NAME}/versions/2`], ['POST', '/v2/models/other/infer'], ['GET', '/v2/models'], ['GET', '/v2/nothing/here']] as const) {
      const r = await call(method, p, method === 'POST' ? { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['x'] }] } : undefined);
      assert.equal(r.status, 404, p);
      assertValid('error_response', r.json);
      assert.deepEqual(Object.keys(r.json), ['error'], p);
    }
  });
});

describe('OIP: inference', () => {
  test('texts: probabilities and labels equal reference.json and /v1, the id is echoed', async () => {
    const res = await infer({ id: 'req-42', inputs: [{ name: 'text', datatype: 'BYTES', shape: [singles.length], data: singles.map((x) => x.text) }] });
    assert.equal(res.id, 'req-42');
    assert.equal(res.model_name, NAME);
    const [probs, label] = res.outputs;
    assert.equal(probs!.name, 'probabilities');
    assert.equal(probs!.datatype, 'FP32');
    assert.deepEqual(probs!.shape, [singles.length, 2]);
    assert.equal(label!.datatype, 'BYTES');
    const v1 = (await call('POST', '/v1/predict', { texts: singles.map((x) => x.text) })).json as unknown as PredictResponse;
    singles.forEach((x, i) => {
      // stranger-b's labels are ["positive", "negative"]: columns follow the model's label order.
      assert.ok(Math.abs((probs!.data[i * 2] as number) - x.probs![0]!) < 1e-4, x.id);
      assert.ok(Math.abs((probs!.data[i * 2 + 1] as number) - x.probs![1]!) < 1e-4, x.id);
      assert.equal(probs!.data[i * 2], v1.predictions[i]!.probs['positive']);
      assert.equal(label!.data[i], x.predicted_label, x.id);
    });
  });

  test('text_pair as a second BYTES input equals /v1 texts + text_pair; nested data with shape [n, 1] is accepted', async () => {
    const res = await infer({
      inputs: [
        { name: 'text', datatype: 'BYTES', shape: [pairs.length, 1], data: pairs.map((x) => [x.text]) },
        { name: 'text_pair', datatype: 'BYTES', shape: [pairs.length, 1], data: pairs.map((x) => [x.text_pair!]) },
      ],
    });
    assert.equal(res.id, undefined);
    const v1 = (await call('POST', '/v1/predict', { texts: pairs.map((x) => x.text), text_pair: pairs.map((x) => x.text_pair) })).json as unknown as PredictResponse;
    pairs.forEach((x, i) => {
      assert.equal(res.outputs[0]!.data[i * 2], v1.predictions[i]!.probs['positive']);
      assert.equal(res.outputs[1]!.data[i], x.predicted_label);
    });
  });

  test('requested outputs only, in the order asked; the classification parameter gives the top k as "score:index:label"', async () => {
    const texts = singles.slice(0, 3).map((x) => x.text);
    const res = await infer({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [3], data: texts }], outputs: [{ name: 'label' }, { name: 'probabilities', parameters: { classification: 2 } }] });
    assert.deepEqual(res.outputs.map((o) => o.name), ['label', 'probabilities']);
    const top = res.outputs[1]!;
    assert.equal(top.datatype, 'BYTES');
    assert.deepEqual(top.shape, [3, 2]);
    const full = await infer({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [3], data: texts }], outputs: [{ name: 'probabilities' }] });
    assert.equal(full.outputs.length, 1);
    for (let i = 0; i < 3; i++) {
      const [first, second] = [top.data[i * 2] as string, top.data[i * 2 + 1] as string].map((s) => s.split(':'));
      assert.ok(Number(first![0]) >= Number(second![0]));
      assert.equal(first![2], res.outputs[0]!.data[i]);
      assert.equal(Number(first![0]), full.outputs[0]!.data[i * 2 + Number(first![1])]);
      assert.equal(first![2], model.labels[Number(first![1])]);
    }
  });

  test('an empty batch gets empty outputs', async () => {
    const res = await infer({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [0], data: [] }] });
    assert.deepEqual(res.outputs.map((o) => o.shape), [[0, 2], [0]]);
  });

  test('bad requests: a 4xx with {"error": "..."} naming the problem', async () => {
    const t = (data: unknown[], shape = [data.length], datatype = 'BYTES', name = 'text'): Record<string, unknown> => ({ name, datatype, shape, data });
    const cases: [string, unknown, number, RegExp][] = [
      ['no inputs', { inputs: [] }, 400, /"inputs" must be a non-empty array/],
      ['FP32 input', { inputs: [t([1, 2], [2], 'FP32')] }, 400, /datatype must be "BYTES"/],
      ['shape disagrees with data', { inputs: [t(['a', 'b'], [3])] }, 400, /has 2 elements but shape \[3\]/],
      ['a number among texts', { inputs: [t(['a', 5])] }, 400, /data\[1\] must be a string/],
      ['unknown input', { inputs: [t(['a'], [1], 'BYTES', 'input_ids')] }, 400, /must be "text" or "text_pair"/],
      ['text_pair only', { inputs: [t(['a'], [1], 'BYTES', 'text_pair')] }, 400, /input "text" is missing/],
      ['pair count differs', { inputs: [t(['a', 'b']), t(['c'], [1], 'BYTES', 'text_pair')] }, 400, /one second text per text/],
      ['unknown output', { inputs: [t(['a'])], outputs: [{ name: 'logits' }] }, 400, /outputs\[0\]\.name must be one of/],
      ['classification out of range', { inputs: [t(['a'])], outputs: [{ name: 'probabilities', parameters: { classification: 3 } }] }, 400, /classification must be a whole number from 1 to 2/],
      ['id not a string', { id: 7, inputs: [t(['a'])] }, 400, /"id" must be a string/],
      ['too many texts', { inputs: [t(Array.from({ length: 41 }, () => 'a'))] }, 413, /limit is 40 \(maxTexts\)/],
      ['a text too long', { inputs: [t(['a'.repeat(2001)])] }, 422, /limit is 2000 \(maxChars\)/],
      ['malformed JSON', '{"inputs": [', 400, /malformed JSON/],
    ];
    for (const [what, body, status, message] of cases) {
      const r = await call('POST', `/v2/models/${NAME}/infer`, body);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
      assertValid('error_response', r.json);
      assert.deepEqual(Object.keys(r.json), ['error'], what);
      assert.match(r.json['error'] as string, message, what);
    }
  });
});

describe("/v1/predict also takes Hugging Face's {\"inputs\": ...}", () => {
  test('a string, a list and text/text_pair objects give the same answers as texts and texts + text_pair', async () => {
    const one = await call('POST', '/v1/predict', { inputs: singles[0]!.text });
    const list = await call('POST', '/v1/predict', { inputs: singles.map((x) => x.text), parameters: { top_k: null } });
    const texts = await call('POST', '/v1/predict', { texts: singles.map((x) => x.text) });
    assert.equal(one.status, 200);
    assert.deepEqual((one.json as unknown as PredictResponse).predictions[0], (texts.json as unknown as PredictResponse).predictions[0]);
    assert.deepEqual(list.json, texts.json);
    const hfPairs = await call('POST', '/v1/predict', { inputs: pairs.map((x) => ({ text: x.text, text_pair: x.text_pair })) });
    const ours = await call('POST', '/v1/predict', { texts: pairs.map((x) => x.text), text_pair: pairs.map((x) => x.text_pair) });
    assert.equal(hfPairs.status, 200);
    assert.deepEqual(hfPairs.json, ours.json);
    const bad = await call('POST', '/v1/predict', { inputs: [{ text: 'a' }] });
    assert.equal(bad.status, 400);
    assert.match(String((bad.json['error'] as Record<string, unknown>)['message']), /text_pair/);
  });
});
