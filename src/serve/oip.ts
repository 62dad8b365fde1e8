import type { FastifyInstance } from 'fastify';
import type { TextInput } from '../checkpoint/tokenizer.js';
import type { Classifier } from '../runtime/classifier.js';
import type { MicroBatcher } from './batcher.js';
import { clientGone, inferenceError } from './inference.js';
import { RequestError, bad, checkCount, checkText, type ServeLimits } from './request.js';

/*
 * The Open Inference Protocol (KServe v2) over REST, so one client works against bertfuse, KServe
 * and Triton (kserve/open-inference-protocol, specification/protocol/inference_rest.md):
 *
 *   GET  /v2                                   server metadata
 *   GET  /v2/health/live, /v2/health/ready
 *   GET  /v2/models/{name}[/versions/1]        model metadata
 *   GET  /v2/models/{name}[/versions/1]/ready
 *   POST /v2/models/{name}[/versions/1]/infer  BYTES input "text" (and optionally "text_pair")
 *
 * Outputs: "probabilities" FP32 [batch, labels] (label order as in the metadata's `parameters`)
 * and "label" BYTES [batch]. Tokenisation happens here, so the model's inputs are texts, not ids.
 * Errors are `{"error": "..."}` as the protocol asks. The model has one version, "1".
 */

export const OIP_VERSION = '1';
export const OIP_PLATFORM = 'bertfuse';

interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

export interface OipOutput extends TensorMetadata {
  readonly data: readonly (number | string)[];
  readonly parameters?: Readonly<Record<string, unknown>>;
}

export interface OipInferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  readonly outputs: readonly OipOutput[];
}

const OUTPUTS = ['probabilities', 'label'] as const;
type OutputName = (typeof OUTPUTS)[number];

/** The protocol's parameter values are strings, numbers or booleans (no null): `quantize` appears only for an int8 graph. */
export function modelMetadata(model: Classifier): { name: string; versions: string[]; platform: string; inputs: TensorMetadata[]; outputs: TensorMetadata[]; parameters: { labels: readonly string[]; quantize?: string } } {
  return {
    name: model.name,
    versions: [OIP_VERSION],
    platform: OIP_PLATFORM,
    inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, model.labels.length] },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
    ],
    parameters: { labels: model.labels, ...(model.quantize ? { quantize: model.quantize } : {}) },
  };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Tensor data may come nested or flat (row-major); either way, its elements in order. */
function flatten(data: unknown, where: string, out: unknown[] = [], depth = 0): unknown[] {
  if (depth > 8) throw bad(`${where}.data is nested too deeply`);
  if (!Array.isArray(data)) throw bad(`${where}.data must be an array`);
  for (const x of data) {
    if (Array.isArray(x)) flatten(x, where, out, depth + 1);
    else out.push(x);
  }
  return out;
}

/** One BYTES input as texts: shape and data must agree, every element a string within the limits. */
function textsOf(input: Record<string, unknown>, where: string, limits: ServeLimits): string[] {
  if (input['datatype'] !== 'BYTES') throw bad(`${where}.datatype must be "BYTES" (texts), got ${JSON.stringify(input['datatype'])}`);
  const shape = input['shape'];
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw bad(`${where}.shape must be a non-empty array of whole numbers`);
  const n = (shape as number[]).reduce((a, d) => a * d, 1);
  checkCount(n, 'texts', limits);
  if (shape.length > 2 || (shape.length === 2 && shape[1] !== 1)) throw bad(`${where}.shape must be [batch] or [batch, 1], got ${JSON.stringify(shape)}`);
  const data = flatten(input['data'], where);
  if (data.length !== n) throw bad(`${where}.data has ${data.length} elements but shape ${JSON.stringify(shape)} holds ${n}`);
  return data.map((s, i) => checkText(s, `${where}.data[${i}]`, limits));
}

interface ParsedInfer {
  readonly id?: string;
  readonly inputs: TextInput[];
  readonly outputs: readonly { readonly name: OutputName; readonly classification?: number }[];
}

export function parseInferRequest(body: unknown, limits: ServeLimits, labels: number): ParsedInfer {
  if (!isObject(body)) throw bad('body must be an inference request object with "inputs"');
  const unknown = Object.keys(body).filter((k) => !['id', 'parameters', 'inputs', 'outputs'].includes(k));
  if (unknown.length > 0) throw bad(`unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  const id = body['id'];
  if (id !== undefined && typeof id !== 'string') throw bad('"id" must be a string');
  if (body['parameters'] !== undefined && !isObject(body['parameters'])) throw bad('"parameters" must be an object');
  const inputs = body['inputs'];
  if (!Array.isArray(inputs) || inputs.length === 0) throw bad('"inputs" must be a non-empty array');
  const byName = new Map<string, string[]>();
  inputs.forEach((x, i) => {
    const where = `inputs[${i}]`;
    if (!isObject(x)) throw bad(`${where} must be an object`);
    const name = x['name'];
    if (name !== 'text' && name !== 'text_pair') throw bad(`${where}.name must be "text" or "text_pair", got ${JSON.stringify(name)}`);
    if (byName.has(name)) throw bad(`input "${name}" is given twice`);
    if (x['parameters'] !== undefined && !isObject(x['parameters'])) throw bad(`${where}.parameters must be an object`);
    byName.set(name, textsOf(x, where, limits));
  });
  const texts = byName.get('text');
  if (!texts) throw bad('input "text" is missing');
  const pairs = byName.get('text_pair');
  if (pairs && pairs.length !== texts.length) throw bad(`"text_pair" has ${pairs.length} elements and "text" ${texts.length}: one second text per text`);
  let outputs: ParsedInfer['outputs'] = OUTPUTS.map((name) => ({ name }));
  if (body['outputs'] !== undefined) {
    if (!Array.isArray(body['outputs'])) throw bad('"outputs" must be an array');
    outputs = body['outputs'].map((o, i) => {
      if (!isObject(o)) throw bad(`outputs[${i}] must be an object`);
      const name = o['name'];
      if (!OUTPUTS.includes(name as OutputName)) throw bad(`outputs[${i}].name must be one of ${OUTPUTS.map((n) => `"${n}"`).join(', ')}, got ${JSON.stringify(name)}`);
      const p = o['parameters'];
      if (p !== undefined && !isObject(p)) throw bad(`outputs[${i}].parameters must be an object`);
      // Triton's classification extension: the top k as "score:index:label" strings.
      const k = p?.['classification'];
      if (k === undefined) return { name: name as OutputName };
      if (name !== 'probabilities' || !Number.isSafeInteger(k) || (k as number) < 1 || (k as number) > labels) throw bad(`outputs[${i}].parameters.classification must be a whole number from 1 to ${labels} on "probabilities"`);
      return { name: name as OutputName, classification: k as number };
    });
  }
  return { ...(id !== undefined ? { id } : {}), inputs: texts.map((text, i) => (pairs ? { text, textPair: pairs[i]! } : { text })), outputs };
}

/** The response tensors for probabilities row-major [n, labels]. */
export function inferOutputs(parsed: ParsedInfer, labels: readonly string[], probs: Float32Array): OipOutput[] {
  const n = parsed.inputs.length;
  const k = labels.length;
  const best = (row: number): number => {
    let b = 0;
    for (let j = 1; j < k; j++) if (probs[row * k + j]! > probs[row * k + b]!) b = j;
    return b;
  };
  return parsed.outputs.map((o): OipOutput => {
    if (o.name === 'label') return { name: 'label', datatype: 'BYTES', shape: [n], data: Array.from({ length: n }, (_, i) => labels[best(i)]!) };
    if (o.classification !== undefined) {
      const top = o.classification;
      const data: string[] = [];
      for (let i = 0; i < n; i++) {
        const order = labels.map((_, j) => j).sort((a, b) => probs[i * k + b]! - probs[i * k + a]! || a - b);
        for (const j of order.slice(0, top)) data.push(`${probs[i * k + j]!}:${j}:${labels[j]!}`);
      }
      return { name: 'probabilities', datatype: 'BYTES', shape: [n, top], data };
    }
    return { name: 'probabilities', datatype: 'FP32', shape: [n, k], data: Array.from(probs.subarray(0, n * k)) };
  });
}

export interface OipContext {
  readonly model: Classifier;
  readonly queue: MicroBatcher;
  readonly limits: ServeLimits;
  readonly serverVersion: string;
  readonly ready: () => boolean;
  /** False once the model cannot answer any more (its worker died). */
  readonly live: () => boolean;
  readonly onInputs: (n: number) => void;
}

/** Model routes answer only for the served model's name and version 1. */
function checkModel(ctx: OipContext, params: unknown): void {
  const p = params as { name: string; version?: string };
  if (p.name !== ctx.model.name) throw new RequestError(404, 'not_found', `no model "${p.name}" here; this server serves "${ctx.model.name}"`);
  if (p.version !== undefined && p.version !== OIP_VERSION) throw new RequestError(404, 'not_found', `model "${p.name}" has no version "${p.version}"; it has version "${OIP_VERSION}"`);
}

export function registerOip(app: FastifyInstance, ctx: OipContext): void {
  app.get('/v2', async () => ({ name: 'bertfuse', version: ctx.serverVersion, extensions: ['classification'] }));
  app.get('/v2/health/live', async (_req, reply) => {
    const live = ctx.live();
    return reply.code(live ? 200 : 503).send({ live });
  });
  app.get('/v2/health/ready', async (_req, reply) => {
    const ready = ctx.ready();
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get(base, async (req) => {
      checkModel(ctx, req.params);
      return modelMetadata(ctx.model);
    });
    app.get(`${base}/ready`, async (req, reply) => {
      checkModel(ctx, req.params);
      const ready = ctx.ready();
      return reply.code(ready ? 200 : 503).send({ name: ctx.model.name, ready });
    });
    app.post(`${base}/infer`, async (req, reply): Promise<OipInferResponse> => {
      checkModel(ctx, req.params);
      const parsed = parseInferRequest(req.body, ctx.limits, ctx.model.labels.length);
      let probs: Float32Array = new Float32Array(0);
      if (parsed.inputs.length > 0) {
        try {
          probs = (await ctx.queue.submit(parsed.inputs, false, clientGone(req, reply.raw))).probs;
        } catch (e) {
          throw inferenceError(e);
        }
        ctx.onInputs(parsed.inputs.length);
      }
      return { model_name: ctx.model.name, model_version: OIP_VERSION, ...(parsed.id !== undefined ? { id: parsed.id } : {}), outputs: inferOutputs(parsed, ctx.model.labels, probs) };
    });
  }
}
