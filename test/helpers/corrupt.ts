/**
 * Generators of bad inputs, made from the good fixtures, and the assertions every reliability case
 * shares: a refusal is a BertfuseError with a specific code, one line, naming the file and the
 * problem, and it leaves no output (nor a temp sibling) behind.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { zipSync, unzipSync } from 'fflate';
import { BertfuseError, type ErrorCode } from '../../src/errors.js';
import { fixture } from './fixtures.js';

// ───────────────────────────── assertions ─────────────────────────────

export interface Refusal {
  /** The expected code (or the acceptable codes, where two are equally right). */
  readonly code: ErrorCode | readonly ErrorCode[];
  /** A path (or name) the message must contain: the file at fault. */
  readonly names: string;
  /** What the message must say about the problem. */
  readonly pattern: RegExp;
}

export function assertRefusal(e: unknown, r: Refusal, context = ''): asserts e is BertfuseError {
  const where = context ? `${context}: ` : '';
  if (!(e instanceof BertfuseError)) {
    assert.fail(`${where}expected a BertfuseError ${String(r.code)}, got ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
  }
  const codes = typeof r.code === 'string' ? [r.code] : r.code;
  assert.ok(codes.includes(e.code), `${where}code ${e.code}, expected ${codes.join(' or ')} (${e.message})`);
  assert.ok(e.message.includes(r.names), `${where}message should name ${r.names}: ${e.message}`);
  assert.match(e.message, r.pattern, `${where}message should say what is wrong`);
  assert.ok(!/[\r\n\u2028\u2029]/.test(e.message), `${where}one line: ${JSON.stringify(e.message)}`);
}

/** Runs `fn` (sync or async), expects the refusal, then checks that no output path appeared. */
export async function expectRefused(fn: () => unknown, r: Refusal, outputs: readonly string[] = [], context = ''): Promise<BertfuseError> {
  let caught: unknown = null;
  let threw = false;
  try {
    await fn();
  } catch (e) {
    caught = e;
    threw = true;
  }
  assert.ok(threw, `${context ? context + ': ' : ''}expected a refusal (${String(r.code)}), but it succeeded`);
  assertRefusal(caught, r, context);
  assertNoOutput(outputs, context);
  return caught;
}

/** Temp siblings our atomic writers use (`.bertfuse-tmp-*`) left in a folder. */
export function tempLeftovers(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => n.startsWith('.bertfuse-tmp-'));
}

export function assertNoOutput(outputs: readonly string[], context = ''): void {
  for (const out of outputs) {
    assert.ok(!fs.existsSync(out), `${context ? context + ': ' : ''}output ${out} must not exist after a refusal`);
    const left = tempLeftovers(path.dirname(path.resolve(out)));
    assert.deepEqual(left, [], `${context ? context + ': ' : ''}no temp files may be left beside ${out}`);
  }
}

// ───────────────────────────── files and folders ─────────────────────────────

/** sha256 of every file under `dir`, by relative path (sorted): "same bytes" in one comparable object. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const { createHash } = await import('node:crypto');
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

export function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

export function editJson(file: string, edit: (j: Record<string, unknown>) => void): void {
  const j = readJson(file);
  edit(j);
  fs.writeFileSync(file, JSON.stringify(j, null, 2));
}

// ───────────────────────────── safetensors ─────────────────────────────

export interface SafetensorsParts {
  readonly header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  readonly data: Buffer;
}

export interface TensorSpan {
  readonly name: string;
  readonly begin: number;
  readonly end: number;
}

/** Splits a safetensors file independently of the reader under test. */
export function splitSafetensors(bytes: Buffer): SafetensorsParts {
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as SafetensorsParts['header'], data: bytes.subarray(8 + n) };
}

/** Tensors of a header, by position in the data section. */
export function spans(header: SafetensorsParts['header']): TensorSpan[] {
  return Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .map(([name, e]) => {
      const [begin, end] = (e as { data_offsets: [number, number] }).data_offsets;
      return { name, begin, end };
    })
    .sort((a, b) => a.begin - b.begin);
}

/** Assembles a file from a header (object or raw text) and data; the length prefix may lie. */
export function joinSafetensors(header: unknown, data: Uint8Array, opts: { lengthOverride?: bigint; rawHeader?: Buffer } = {}): Buffer {
  const h = opts.rawHeader ?? Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.lengthOverride ?? BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

/** A header entry, edited: the header is cloned so cases never share state. */
function withEntry(parts: SafetensorsParts, name: string, edit: (e: Record<string, unknown>) => void): Buffer {
  const header = structuredClone(parts.header) as Record<string, Record<string, unknown>>;
  edit(header[name]!);
  return joinSafetensors(header, parts.data);
}

export interface BytesCase {
  readonly name: string;
  readonly bytes: () => Buffer;
  readonly code: ErrorCode;
  readonly pattern: RegExp;
}

export const FIXTURE_WEIGHTS = path.join(fixture('sst2-sibling-a'), 'model.safetensors');

/**
 * Every way a safetensors file can be damaged that the reader must refuse: truncation at each
 * section (length prefix, header, padding, every tensor's start/middle/end), lying header lengths,
 * broken JSON, and entries whose dtype, shape and offsets disagree or collide.
 */
export function safetensorsCases(good: Buffer = fs.readFileSync(FIXTURE_WEIGHTS)): BytesCase[] {
  const parts = splitSafetensors(good);
  const headerLen = Number(good.readBigUInt64LE(0));
  const headerText = good.subarray(8, 8 + headerLen).toString('utf8');
  const tensors = spans(parts.header);
  const first = tensors[0]!;
  const second = tensors[1]!;
  const last = tensors[tensors.length - 1]!;
  const dataStart = 8 + headerLen;
  const truncated = (n: number): (() => Buffer) => () => good.subarray(0, n);
  const cases: BytesCase[] = [
    { name: 'empty file', bytes: () => Buffer.alloc(0), code: 'E_BAD_SAFETENSORS', pattern: /0 bytes, too short/ },
    { name: 'truncated inside the length prefix (4 bytes)', bytes: truncated(4), code: 'E_BAD_SAFETENSORS', pattern: /too short .*truncated/ },
    { name: 'truncated inside the length prefix (7 bytes)', bytes: truncated(7), code: 'E_BAD_SAFETENSORS', pattern: /too short/ },
    { name: 'truncated right after the length prefix', bytes: truncated(8), code: 'E_BAD_SAFETENSORS', pattern: /runs past the end of the file/ },
    { name: 'truncated in the middle of the header', bytes: truncated(8 + Math.floor(headerLen / 2)), code: 'E_BAD_SAFETENSORS', pattern: /runs past the end of the file/ },
    { name: 'truncated one byte before the header ends', bytes: truncated(dataStart - 1), code: 'E_BAD_SAFETENSORS', pattern: /runs past the end of the file/ },
    { name: 'truncated right after the header (no data)', bytes: truncated(dataStart), code: 'E_BAD_SAFETENSORS', pattern: /run past the data section/ },
    { name: 'truncated one byte short', bytes: truncated(good.length - 1), code: 'E_BAD_SAFETENSORS', pattern: new RegExp(`"${esc(last.name)}" .*run past the data section`) },
  ];
  // Every tensor boundary: cut at its first byte and in its middle. The first tensor whose end is
  // past the cut is what the reader must name.
  for (const t of tensors) {
    for (const [where, at] of [['start', t.begin], ['middle', t.begin + Math.floor((t.end - t.begin) / 2)]] as const) {
      if (at === t.end) continue;
      cases.push({ name: `truncated at the ${where} of tensor ${t.name}`, bytes: truncated(dataStart + at), code: 'E_BAD_SAFETENSORS', pattern: /run past the data section .*truncated/ });
    }
  }
  const len = (v: bigint): (() => Buffer) => () => joinSafetensors(null, parts.data, { rawHeader: good.subarray(8, dataStart), lengthOverride: v });
  cases.push(
    { name: 'header length 0', bytes: len(0n), code: 'E_BAD_SAFETENSORS', pattern: /header length is 0/ },
    { name: 'header length 2^64-1', bytes: len(0xffffffffffffffffn), code: 'E_BAD_SAFETENSORS', pattern: /header length 18446744073709551615 runs past the end/ },
    { name: 'header length 2^53+1 (not a safe integer)', bytes: len(2n ** 53n + 1n), code: 'E_BAD_SAFETENSORS', pattern: /runs past the end/ },
    { name: 'header length one past EOF', bytes: len(BigInt(good.length - 8 + 1)), code: 'E_BAD_SAFETENSORS', pattern: /runs past the end of the file/ },
    { name: 'header length one byte short (JSON cut)', bytes: len(BigInt(headerText.trimEnd().length - 1)), code: 'E_BAD_SAFETENSORS', pattern: /not valid JSON/ },
    { name: 'header length too long (JSON followed by tensor bytes)', bytes: len(BigInt(headerLen + 16)), code: 'E_BAD_SAFETENSORS', pattern: /not valid (JSON|UTF-8)/ },
  );
  const raw = (text: string | Buffer): (() => Buffer) => () => joinSafetensors(null, parts.data, { rawHeader: Buffer.isBuffer(text) ? text : Buffer.from(text) });
  cases.push(
    { name: 'header is not JSON', bytes: raw('this is not json at all '), code: 'E_BAD_SAFETENSORS', pattern: /not valid JSON/ },
    { name: 'header JSON is cut short', bytes: raw(headerText.trimEnd().slice(0, -2)), code: 'E_BAD_SAFETENSORS', pattern: /not valid JSON/ },
    { name: 'header is a JSON array', bytes: raw('[1, 2, 3]'), code: 'E_BAD_SAFETENSORS', pattern: /not a JSON object/ },
    { name: 'header is JSON null', bytes: raw('null'), code: 'E_BAD_SAFETENSORS', pattern: /not a JSON object/ },
    { name: 'header is a JSON string', bytes: raw('"weights"'), code: 'E_BAD_SAFETENSORS', pattern: /not a JSON object/ },
    { name: 'header is not UTF-8', bytes: raw(Buffer.concat([Buffer.from('{"a'), Buffer.from([0xff, 0xfe]), Buffer.from('":1}')])), code: 'E_BAD_SAFETENSORS', pattern: /header is not valid UTF-8/ },
    { name: 'header has a NUL byte', bytes: raw(Buffer.from('{"a":\u0000}')), code: 'E_BAD_SAFETENSORS', pattern: /not valid JSON/ },
    { name: '__metadata__ is a string', bytes: () => joinSafetensors({ ...parts.header, __metadata__: 'pt' }, parts.data), code: 'E_BAD_SAFETENSORS', pattern: /__metadata__ is not an object/ },
    { name: 'entry is a number', bytes: () => joinSafetensors({ ...parts.header, [first.name]: 7 }, parts.data), code: 'E_BAD_SAFETENSORS', pattern: new RegExp(`"${esc(first.name)}" is not an object`) },
    { name: 'entry is null', bytes: () => joinSafetensors({ ...parts.header, [first.name]: null }, parts.data), code: 'E_BAD_SAFETENSORS', pattern: /is not an object/ },
  );
  const entry = (name: string, code: ErrorCode, pattern: RegExp, t: TensorSpan, edit: (e: Record<string, unknown>) => void): BytesCase => ({
    name,
    bytes: () => withEntry(parts, t.name, edit),
    code,
    pattern,
  });
  cases.push(
    entry('unknown dtype', 'E_BAD_DTYPE', /unknown dtype "F8_E4M3"/, first, (e) => (e['dtype'] = 'F8_E4M3')),
    entry('dtype missing', 'E_BAD_DTYPE', /unknown dtype undefined/, first, (e) => delete e['dtype']),
    entry('dtype is a number', 'E_BAD_DTYPE', /unknown dtype 32/, first, (e) => (e['dtype'] = 32)),
    entry('dtype F16 but bytes sized for F32 (dtype/shape disagree)', 'E_BAD_SAFETENSORS', /spans \d+ bytes but F16\[.*\] needs/, first, (e) => (e['dtype'] = 'F16')),
    entry('dtype F64 but bytes sized for F32', 'E_BAD_SAFETENSORS', /spans \d+ bytes but F64/, first, (e) => (e['dtype'] = 'F64')),
    entry('shape one row too many', 'E_BAD_SAFETENSORS', /spans \d+ bytes but F32\[.*\] needs/, first, (e) => {
      const s = e['shape'] as number[];
      s[0]! += 1;
    }),
    entry('shape missing', 'E_BAD_SAFETENSORS', /invalid shape undefined/, first, (e) => delete e['shape']),
    entry('shape with a negative dimension', 'E_BAD_SAFETENSORS', /invalid shape \[-1/, first, (e) => (e['shape'] = [-1, ...(e['shape'] as number[]).slice(1)])),
    entry('shape with a fractional dimension', 'E_BAD_SAFETENSORS', /invalid shape \[1\.5/, first, (e) => (e['shape'] = [1.5])),
    entry('shape with a string dimension', 'E_BAD_SAFETENSORS', /invalid shape/, first, (e) => (e['shape'] = ['64'])),
    entry('shape whose element count overflows', 'E_BAD_SAFETENSORS', /needs/, first, (e) => (e['shape'] = [2 ** 31, 2 ** 31, 2 ** 31])),
    entry('data_offsets missing', 'E_BAD_SAFETENSORS', /invalid data_offsets undefined/, first, (e) => delete e['data_offsets']),
    entry('data_offsets with one number', 'E_BAD_SAFETENSORS', /invalid data_offsets \[0\]/, first, (e) => (e['data_offsets'] = [0])),
    entry('data_offsets negative', 'E_BAD_SAFETENSORS', /invalid data_offsets \[-4/, first, (e) => (e['data_offsets'] = [-4, first.end - first.begin - 4])),
    entry('data_offsets as strings', 'E_BAD_SAFETENSORS', /invalid data_offsets/, first, (e) => (e['data_offsets'] = [String(first.begin), String(first.end)])),
    entry('data_offsets end before begin', 'E_BAD_SAFETENSORS', /end before they begin/, first, (e) => (e['data_offsets'] = [first.end, first.begin])),
    entry('data_offsets beyond the data section (out of range)', 'E_BAD_SAFETENSORS', /run past the data section/, first, (e) => {
      const n = first.end - first.begin;
      e['data_offsets'] = [parts.data.length, parts.data.length + n];
    }),
    entry('data_offsets beyond 2^53', 'E_BAD_SAFETENSORS', /invalid data_offsets/, first, (e) => (e['data_offsets'] = [2 ** 60, 2 ** 60 + first.end - first.begin])),
    entry('data_offsets overlapping the next tensor', 'E_BAD_SAFETENSORS', /overlap/, second, (e) => {
      const n = second.end - second.begin;
      // Slide the second tensor back by 4 bytes into the first one's span.
      e['data_offsets'] = [second.begin - 4, second.begin - 4 + n];
    }),
    entry('two tensors on the same bytes', 'E_BAD_SAFETENSORS', /overlap/, second, (e) => {
      const sizeFirst = first.end - first.begin;
      const sizeSecond = second.end - second.begin;
      if (sizeFirst === sizeSecond) e['data_offsets'] = [first.begin, first.end];
      else e['data_offsets'] = [first.begin, first.begin + sizeSecond];
    }),
  );
  return cases;
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ───────────────────────────── checkpoint folders ─────────────────────────────

export interface FolderCase {
  readonly name: string;
  /** Damages a writable copy of a good fixture; returns the file the error must name. */
  readonly mutate: (dir: string) => string;
  readonly code: ErrorCode | readonly ErrorCode[];
  readonly pattern: RegExp;
}

const cfg = (edit: (c: Record<string, unknown>) => void) => (dir: string): string => {
  const f = path.join(dir, 'config.json');
  editJson(f, edit);
  return f;
};
/** Edits config.json, but the error is about the weights disagreeing with it: it names model.safetensors. */
const cfgVsWeights = (edit: (c: Record<string, unknown>) => void) => (dir: string): string => {
  cfg(edit)(dir);
  return path.join(dir, 'model.safetensors');
};
const write = (file: string, content: string | Buffer) => (dir: string): string => {
  const f = path.join(dir, file);
  fs.writeFileSync(f, content);
  return f;
};

/** config.json: missing fields, wrong types, unknown architectures, label maps that disagree. */
export const CONFIG_CASES: readonly FolderCase[] = [
  { name: 'config.json missing', mutate: (d) => (fs.rmSync(path.join(d, 'config.json')), path.join(d, 'config.json')), code: 'E_MISSING_FILE', pattern: /config\.json not found/ },
  { name: 'config.json empty', mutate: write('config.json', ''), code: 'E_BAD_CONFIG', pattern: /invalid JSON/ },
  { name: 'config.json not JSON', mutate: write('config.json', '{"hidden_size": 64,'), code: 'E_BAD_CONFIG', pattern: /invalid JSON/ },
  { name: 'config.json is a JSON array', mutate: write('config.json', '[]'), code: 'E_BAD_CONFIG', pattern: /not a JSON object/ },
  { name: 'config.json is not UTF-8 (a latin-1 label name)', mutate: (d) => {
    const f = path.join(d, 'config.json');
    const text = fs.readFileSync(f, 'utf8').replace('"positive"', '"caf\u00e9"');
    fs.writeFileSync(f, Buffer.from(text, 'latin1'));
    return f;
  }, code: 'E_BAD_ENCODING', pattern: /not valid UTF-8 \(first bad byte 0xe9 at line \d+\)/ },
  { name: 'config.json with a UTF-8 BOM and a missing field names the field (the BOM is not the problem)', mutate: (d) => {
    const f = path.join(d, 'config.json');
    const j = readJson(f);
    delete j['hidden_size'];
    fs.writeFileSync(f, Buffer.concat([BOM, Buffer.from(JSON.stringify(j))]));
    return f;
  }, code: 'E_BAD_CONFIG', pattern: /missing field "hidden_size"/ },
  { name: 'missing hidden_size', mutate: cfg((c) => delete c['hidden_size']), code: 'E_BAD_CONFIG', pattern: /missing field "hidden_size"/ },
  { name: 'missing num_hidden_layers', mutate: cfg((c) => delete c['num_hidden_layers']), code: 'E_BAD_CONFIG', pattern: /missing field "num_hidden_layers"/ },
  { name: 'missing vocab_size', mutate: cfg((c) => delete c['vocab_size']), code: 'E_BAD_CONFIG', pattern: /missing field "vocab_size"/ },
  { name: 'hidden_size is a string', mutate: cfg((c) => (c['hidden_size'] = '64')), code: 'E_BAD_CONFIG', pattern: /"hidden_size" must be a positive integer, got "64"/ },
  { name: 'hidden_size is negative', mutate: cfg((c) => (c['hidden_size'] = -64)), code: 'E_BAD_CONFIG', pattern: /"hidden_size" must be a positive integer/ },
  { name: 'num_attention_heads is fractional', mutate: cfg((c) => (c['num_attention_heads'] = 2.5)), code: 'E_BAD_CONFIG', pattern: /"num_attention_heads" must be a positive integer/ },
  { name: 'hidden_size not divisible by heads', mutate: cfg((c) => (c['num_attention_heads'] = 5)), code: 'E_BAD_CONFIG', pattern: /not divisible by num_attention_heads 5/ },
  // Refused from the number alone, before the weights are opened (src/checkpoint/config-limits.ts).
  { name: 'num_hidden_layers absurdly large (10^9)', mutate: cfg((c) => (c['num_hidden_layers'] = 1e9)), code: 'E_BAD_CONFIG', pattern: /num_hidden_layers is 1000000000, more than any supported model uses/ },
  { name: 'num_hidden_layers larger than the weights hold, within the limits (200)', mutate: cfgVsWeights((c) => (c['num_hidden_layers'] = 200)), code: 'E_MISSING_TENSOR', pattern: /num_hidden_layers = 200 but the weights hold 2 layers \(missing tensor "bert\.encoder\.layer\.2\.attention\.self\.query\.weight"\)/ },
  { name: 'num_hidden_layers larger than the weights hold', mutate: cfgVsWeights((c) => (c['num_hidden_layers'] = 3)), code: 'E_MISSING_TENSOR', pattern: /num_hidden_layers = 3 but the weights hold 2 layers/ },
  { name: 'vocab_size disagrees with the embedding table', mutate: cfgVsWeights((c) => (c['vocab_size'] = 9000)), code: 'E_SHAPE_MISMATCH', pattern: /word_embeddings\.weight" has shape \[8192, 64\] but config\.json implies \[9000, 64\]/ },
  { name: 'unknown architecture', mutate: cfg((c) => (c['architectures'] = ['GPT2LMHeadModel'])), code: 'E_UNSUPPORTED_ARCH', pattern: /architecture "GPT2LMHeadModel" is not supported \(supported: / },
  { name: 'architectures is a string', mutate: cfg((c) => (c['architectures'] = 'BertForSequenceClassification')), code: 'E_BAD_CONFIG', pattern: /"architectures" must be a list/ },
  { name: 'model_type gpt2', mutate: cfg((c) => (c['model_type'] = 'gpt2')), code: 'E_UNSUPPORTED_ARCH', pattern: /model_type "gpt2" is not supported \(supported: bert/ },
  { name: 'unknown hidden_act', mutate: cfg((c) => (c['hidden_act'] = 'swish')), code: 'E_BAD_CONFIG', pattern: /hidden_act "swish" is not supported/ },
  { name: 'relative position embeddings', mutate: cfg((c) => (c['position_embedding_type'] = 'relative_key')), code: 'E_BAD_CONFIG', pattern: /position_embedding_type "relative_key" is not supported/ },
  { name: 'layer_norm_eps is a string', mutate: cfg((c) => (c['layer_norm_eps'] = '1e-12')), code: 'E_BAD_CONFIG', pattern: /layer_norm_eps must be a positive number/ },
  { name: 'layer_norm_eps is zero', mutate: cfg((c) => (c['layer_norm_eps'] = 0)), code: 'E_BAD_CONFIG', pattern: /layer_norm_eps must be a positive number/ },
  { name: 'pad_token_id negative', mutate: cfg((c) => (c['pad_token_id'] = -1)), code: 'E_BAD_CONFIG', pattern: /pad_token_id must be an integer >= 0/ },
  { name: 'id2label key is not an index', mutate: cfg((c) => (c['id2label'] = { '0': 'negative', one: 'positive' })), code: 'E_BAD_CONFIG', pattern: /id2label key "one" is not an index/ },
  { name: 'id2label skips an index', mutate: cfg((c) => (c['id2label'] = { '0': 'negative', '2': 'positive' })), code: 'E_BAD_CONFIG', pattern: /id2label key "2" is not an index 0\.\.1/ },
  { name: 'id2label value empty', mutate: cfg((c) => (c['id2label'] = { '0': 'negative', '1': '' })), code: 'E_BAD_CONFIG', pattern: /id2label\[1\] must be a non-empty string/ },
  { name: 'id2label value not a string', mutate: cfg((c) => (c['id2label'] = { '0': 'negative', '1': 1 })), code: 'E_BAD_CONFIG', pattern: /id2label\[1\] must be a non-empty string/ },
  { name: 'id2label names a label twice', mutate: cfg((c) => (c['id2label'] = { '0': 'positive', '1': 'positive' })), code: 'E_BAD_CONFIG', pattern: /duplicate names/ },
  { name: 'label2id disagrees with id2label', mutate: cfg((c) => (c['label2id'] = { negative: 1, positive: 0 })), code: 'E_BAD_CONFIG', pattern: /label2id\["negative"\] = 1 disagrees with id2label \(0=negative, 1=positive\)/ },
  { name: 'label2id names an unknown label', mutate: cfg((c) => (c['label2id'] = { negative: 0, positive: 1, neutral: 2 })), code: 'E_BAD_CONFIG', pattern: /label2id\["neutral"\] = 2 disagrees/ },
  { name: 'three labels but a two-class head', mutate: cfgVsWeights((c) => {
    c['id2label'] = { '0': 'a', '1': 'b', '2': 'c' };
    c['label2id'] = { a: 0, b: 1, c: 2 };
  }), code: 'E_SHAPE_MISMATCH', pattern: /classifier\.weight" has shape \[2, 64\] but config\.json implies \[3, 64\]/ },
];

/** Tokenizer files: broken JSON, missing vocabularies and special tokens, unknown models. */
export const TOKENIZER_CASES: readonly FolderCase[] = [
  { name: 'no tokenizer files at all', mutate: (d) => {
    for (const f of ['tokenizer.json', 'vocab.txt']) fs.rmSync(path.join(d, f));
    return d;
  }, code: 'E_MISSING_FILE', pattern: /no tokenizer: expected tokenizer\.json or vocab\.txt/ },
  { name: 'tokenizer.json empty', mutate: write('tokenizer.json', ''), code: 'E_BAD_TOKENIZER', pattern: /invalid JSON/ },
  { name: 'tokenizer.json cut in half', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    const b = fs.readFileSync(f);
    fs.writeFileSync(f, b.subarray(0, b.length >> 1));
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /invalid JSON/ },
  { name: 'tokenizer.json is a JSON array', mutate: write('tokenizer.json', '[]'), code: 'E_BAD_TOKENIZER', pattern: /not a JSON object/ },
  { name: 'tokenizer.json without a model', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    editJson(f, (j) => delete j['model']);
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /no model\.vocab/ },
  { name: 'tokenizer.json vocab is null', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    editJson(f, (j) => ((j['model'] as Record<string, unknown>)['vocab'] = null));
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /model\.vocab must be an object of token → id/ },
  { name: 'tokenizer.json vocab is a string', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    editJson(f, (j) => ((j['model'] as Record<string, unknown>)['vocab'] = 'vocab.txt'));
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /model\.vocab must be an object of token → id/ },
  { name: 'tokenizer.json vocab is empty', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    editJson(f, (j) => ((j['model'] as Record<string, unknown>)['vocab'] = {}));
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /model\.vocab is empty/ },
  { name: 'tokenizer.json vocab has no [SEP]', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    editJson(f, (j) => {
      const v = (j['model'] as Record<string, Record<string, number>>)['vocab']!;
      delete v['[SEP]'];
      j['added_tokens'] = (j['added_tokens'] as { content: string }[]).filter((t) => t.content !== '[SEP]');
    });
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /no \[SEP\] token/ },
  { name: 'tokenizer.json vocab ids are strings', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    editJson(f, (j) => {
      const m = j['model'] as Record<string, Record<string, unknown>>;
      m['vocab'] = Object.fromEntries(Object.entries(m['vocab']!).map(([k, v]) => [k, String(v)]));
    });
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /model\.vocab\[".*"\] = "\d+" is not a token id \(integer >= 0\)/ },
  { name: 'tokenizer.json model type unknown', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    editJson(f, (j) => ((j['model'] as Record<string, unknown>)['type'] = 'SentencePieceMagic'));
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /model type "SentencePieceMagic" is not supported for a bert model \(bert uses "WordPiece"\)/ },
  { name: 'tokenizer.json normalizer type unknown', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    editJson(f, (j) => (j['normalizer'] = { type: 'NoSuchNormalizer' }));
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /NoSuchNormalizer|normalizer|cannot build tokenizer/ },
  { name: 'tokenizer_config.json not JSON', mutate: write('tokenizer_config.json', '{model_max_length: 128}'), code: 'E_BAD_TOKENIZER', pattern: /invalid JSON/ },
  { name: 'tokenizer_config.json model_max_length 2', mutate: (d) => {
    const f = path.join(d, 'tokenizer_config.json');
    editJson(f, (j) => (j['model_max_length'] = 2));
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /model_max_length 2 is too small: it must be a whole number of tokens, at least 3/ },
  { name: 'vocab.txt only, and empty', mutate: (d) => {
    fs.rmSync(path.join(d, 'tokenizer.json'));
    return write('vocab.txt', '')(d);
  }, code: 'E_BAD_TOKENIZER', pattern: /vocabulary is empty/ },
  { name: 'vocab.txt only, without [CLS]', mutate: (d) => {
    fs.rmSync(path.join(d, 'tokenizer.json'));
    const f = path.join(d, 'vocab.txt');
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('[CLS]\n', '[unused-cls]\n'));
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /no \[CLS\] token/ },
  { name: 'vocab.txt only, not UTF-8', mutate: (d) => {
    fs.rmSync(path.join(d, 'tokenizer.json'));
    const f = path.join(d, 'vocab.txt');
    fs.writeFileSync(f, Buffer.concat([fs.readFileSync(f), Buffer.from([0xc3, 0x28, 0x0a])]));
    return f;
  }, code: 'E_BAD_ENCODING', pattern: /not valid UTF-8 \(first bad byte 0xc3 at line 8193\)/ },
  { name: 'tokenizer.json is not UTF-8', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    const b = fs.readFileSync(f);
    fs.writeFileSync(f, Buffer.concat([b.subarray(0, 200), Buffer.from([0xe9]), b.subarray(200)]));
    return f;
  }, code: 'E_BAD_ENCODING', pattern: /not valid UTF-8 \(first bad byte 0xe9/ },
  { name: 'tokenizer vocabulary larger than the embedding table', mutate: (d) => {
    // stranger-b's tokenizer has 4,096 ids: give it to a model whose table has 4,096 rows... the reverse:
    // vocab A (8,192 ids) into a model with vocab_size 4,096 is caught by the shape check, so grow the tokenizer instead.
    const f = path.join(d, 'tokenizer.json');
    editJson(f, (j) => {
      const v = (j['model'] as Record<string, Record<string, number>>)['vocab']!;
      v['zzzz-extra'] = 9000;
    });
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /ids up to 9000 but the model's vocab_size is 8192/ },
  { name: 'tokenizer.json with a 200,000-entry vocabulary (for an 8,192-row table)', mutate: (d) => {
    const f = path.join(d, 'tokenizer.json');
    editJson(f, (j) => {
      const v = (j['model'] as Record<string, Record<string, number>>)['vocab']!;
      for (let i = Object.keys(v).length; i < 200_000; i++) v[`extra${i}`] = i;
    });
    return f;
  }, code: 'E_BAD_TOKENIZER', pattern: /ids up to 199999 but the model's vocab_size is 8192/ },
];

/** The weights part of a folder: missing, a directory, sharded indexes that lie. */
export const WEIGHTS_FOLDER_CASES: readonly FolderCase[] = [
  { name: 'no weights file', mutate: (d) => (fs.rmSync(path.join(d, 'model.safetensors')), d), code: 'E_MISSING_FILE', pattern: /no weights: expected model\.safetensors/ },
  { name: 'model.safetensors is a directory', mutate: (d) => {
    const f = path.join(d, 'model.safetensors');
    fs.rmSync(f);
    fs.mkdirSync(f);
    return f;
  }, code: 'E_BAD_SAFETENSORS', pattern: /is a directory|not a file/ },
  { name: 'a required tensor is missing', mutate: (d) => {
    const f = path.join(d, 'model.safetensors');
    const parts = splitSafetensors(fs.readFileSync(f));
    const h = { ...parts.header };
    delete h['bert.pooler.dense.bias'];
    fs.writeFileSync(f, joinSafetensors(h, parts.data));
    return f;
  }, code: 'E_MISSING_TENSOR', pattern: /missing tensor "bert\.pooler\.dense\.bias" required by BertForSequenceClassification/ },
  { name: 'a tensor renamed (no word embeddings)', mutate: (d) => {
    const f = path.join(d, 'model.safetensors');
    const parts = splitSafetensors(fs.readFileSync(f));
    const h: Record<string, unknown> = { ...parts.header };
    h['bert.embeddings.words.weight'] = h['bert.embeddings.word_embeddings.weight'];
    delete h['bert.embeddings.word_embeddings.weight'];
    fs.writeFileSync(f, joinSafetensors(h, parts.data));
    return f;
  }, code: 'E_MISSING_TENSOR', pattern: /no word embeddings found/ },
  { name: 'a tensor with the wrong shape', mutate: (d) => {
    const f = path.join(d, 'model.safetensors');
    const parts = splitSafetensors(fs.readFileSync(f));
    const h = structuredClone(parts.header) as Record<string, { shape: number[] }>;
    h['bert.pooler.dense.weight']!.shape = [32, 128];
    fs.writeFileSync(f, joinSafetensors(h, parts.data));
    return f;
  }, code: 'E_SHAPE_MISMATCH', pattern: /"bert\.pooler\.dense\.weight" has shape \[32, 128\] but config\.json implies \[64, 64\]/ },
  ...shardedCases(),
];

function shardedCases(): FolderCase[] {
  /** Replace model.safetensors by an index + one shard (the same bytes), then let `edit` damage the index. */
  const sharded = (edit: (index: Record<string, unknown>) => unknown, rawIndex?: string, extra?: (d: string) => void) => (d: string): string => {
    extra?.(d);
    fs.renameSync(path.join(d, 'model.safetensors'), path.join(d, 'model-00001-of-00001.safetensors'));
    const parts = splitSafetensors(fs.readFileSync(path.join(d, 'model-00001-of-00001.safetensors')));
    const index: Record<string, unknown> = {
      metadata: {},
      weight_map: Object.fromEntries(Object.keys(parts.header).filter((k) => k !== '__metadata__').map((k) => [k, 'model-00001-of-00001.safetensors'])),
    };
    const f = path.join(d, 'model.safetensors.index.json');
    edit(index);
    fs.writeFileSync(f, rawIndex ?? JSON.stringify(index));
    return f;
  };
  const wm = (i: Record<string, unknown>): Record<string, unknown> => i['weight_map'] as Record<string, unknown>;
  return [
    { name: 'sharded: index is not JSON', mutate: sharded(() => undefined, '{"weight_map": '), code: 'E_BAD_SAFETENSORS', pattern: /cannot read index/ },
    { name: 'sharded: index has no weight_map', mutate: sharded((i) => delete i['weight_map']), code: 'E_BAD_SAFETENSORS', pattern: /no weight_map object/ },
    { name: 'sharded: shard name escapes the folder', mutate: sharded((i) => (wm(i)['bert.pooler.dense.bias'] = '../../etc/passwd')), code: 'E_BAD_SAFETENSORS', pattern: /shard name "\.\.\/\.\.\/etc\/passwd" must be a plain file name/ },
    { name: 'sharded: shard is missing', mutate: sharded((i) => (wm(i)['bert.pooler.dense.bias'] = 'model-00002-of-00002.safetensors')), code: 'E_MISSING_FILE', pattern: /shard "model-00002-of-00002\.safetensors" listed in the index is missing/ },
    { name: 'sharded: shard name is not a string', mutate: sharded((i) => (wm(i)['bert.pooler.dense.bias'] = { file: 'x' })), code: ['E_BAD_SAFETENSORS', 'E_MISSING_FILE'], pattern: /shard/ },
    { name: 'sharded: index maps a tensor to a shard that lacks it', mutate: sharded((i) => {
      wm(i)['bert.pooler.dense.bias'] = 'model-00002-of-00002.safetensors';
    }, undefined, (d) => {
      // A real second shard, holding something else.
      fs.writeFileSync(path.join(d, 'model-00002-of-00002.safetensors'), joinSafetensors({ other: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)));
    }), code: 'E_MISSING_TENSOR', pattern: /index maps "bert\.pooler\.dense\.bias" to model-00002-of-00002\.safetensors, which does not hold it/ },
  ];
}

// ───────────────────────────── torch zip / pickle ─────────────────────────────

/** A minimal pickle writer (protocol 2), for building torch state dicts and hostile pickles by hand. */
export class PickleWriter {
  private readonly parts: number[] = [];
  private memo = 0;
  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  proto(n = 2): this {
    return this.op(0x80, n);
  }
  mark(): this {
    return this.op(0x28);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.op(0x58, ...len, ...b);
  }
  /** BININT for 32-bit values, LONG1 (little-endian two's complement) beyond. */
  int(n: number): this {
    if (n >= -(2 ** 31) && n < 2 ** 31) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(n);
      return this.op(0x4a, ...b);
    }
    const b = Buffer.alloc(9);
    b.writeBigInt64LE(BigInt(n));
    return this.op(0x8a, 9, ...b);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  tuple(): this {
    return this.op(0x74);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  setitems(): this {
    return this.op(0x75);
  }
  setitem(): this {
    return this.op(0x73);
  }
  reduce(): this {
    return this.op(0x52);
  }
  binpersid(): this {
    return this.op(0x51);
  }
  newFalse(): this {
    return this.op(0x89);
  }
  put(): number {
    const id = this.memo++;
    this.op(0x71, id);
    return id;
  }
  get(id: number): this {
    return this.op(0x68, id);
  }
  stop(): this {
    return this.op(0x2e);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface TorchTensorSpec {
  readonly name: string;
  readonly storageKey: string;
  readonly storage: string;
  readonly numel: number;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/** `{name: tensor}` as torch.save pickles a state dict (_rebuild_tensor_v2 over persistent storages). */
export function torchStateDictPickle(tensors: readonly TorchTensorSpec[]): Uint8Array {
  const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const t of tensors) {
    w.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', t.storage).str(t.storageKey).str('cpu').int(t.numel).tuple().binpersid();
    w.int(t.offset).mark();
    for (const d of t.shape) w.int(d);
    w.tuple().mark();
    for (const s of t.stride) w.int(s);
    w.tuple().newFalse().global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  }
  return w.setitems().stop().bytes();
}

/** A torch.save-style zip: `archive/data.pkl`, `archive/byteorder`, `archive/data/<key>`, stored uncompressed. */
export function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array>, opts: { root?: string; byteorder?: string | null; level?: 0 | 6 } = {}): Buffer {
  const root = opts.root ?? 'archive';
  const files: Record<string, Uint8Array> = { [`${root}/data.pkl`]: pkl };
  if (opts.byteorder !== null) files[`${root}/byteorder`] = Buffer.from(opts.byteorder ?? 'little');
  for (const [k, v] of Object.entries(storages)) files[`${root}/data/${k}`] = v;
  return Buffer.from(zipSync(files, { level: opts.level ?? 0 }));
}

export function f32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** A tiny valid torch checkpoint: a 2x3 weight and a 3-vector bias sharing one storage. */
export function tinyTorchBin(): Buffer {
  const pkl = torchStateDictPickle([
    { name: 'w', storageKey: '0', storage: 'FloatStorage', numel: 9, offset: 0, shape: [2, 3], stride: [3, 1] },
    { name: 'b', storageKey: '0', storage: 'FloatStorage', numel: 9, offset: 6, shape: [3], stride: [1] },
  ]);
  return torchZip(pkl, { '0': f32Bytes([1, 2, 3, 4, 5, 6, 7, 8, 9]) });
}

export const FIXTURE_BIN = path.join(fixture('sst2-sibling-a-bin'), 'pytorch_model.bin');

/** The fixture's zip entries, to rebuild damaged variants. */
export function fixtureBinEntries(): Record<string, Uint8Array> {
  return unzipSync(fs.readFileSync(FIXTURE_BIN));
}

// ───────────────────────────── data files ─────────────────────────────

export const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** "café" in latin-1: the é (0xe9) is not valid UTF-8. */
export const LATIN1_LINE = Buffer.from([0x63, 0x61, 0x66, 0xe9]);

export interface DataCase {
  readonly name: string;
  /** File name (its extension decides the format). */
  readonly file: string;
  readonly bytes: Buffer;
  readonly encoding?: string;
  readonly code: ErrorCode;
  readonly pattern: RegExp;
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/**
 * Labelled data files that must be refused, each made from the first rows of data/sst2_dev.tsv
 * (`label\tcontent`, 0/1 labels) by one damage.
 */
export function labelledDataCases(goodTsv: string): DataCase[] {
  const lines = goodTsv.split('\n').slice(0, 6);
  const [header, r1, r2, r3] = lines as [string, string, string, string];
  const tsv = (rows: string[]): Buffer => utf8(rows.join('\n') + '\n');
  return [
    { name: 'empty file', file: 'empty.tsv', bytes: Buffer.alloc(0), code: 'E_BAD_DATA', pattern: /empty file|no data rows/ },
    { name: 'only blank lines', file: 'blank.tsv', bytes: utf8('\n\n  \n\r\n'), code: 'E_BAD_DATA', pattern: /empty file|no data rows/ },
    { name: 'a header and no rows', file: 'header-only.tsv', bytes: tsv([header]), code: 'E_BAD_DATA', pattern: /no data rows/ },
    { name: 'ragged TSV: a row with an extra field', file: 'ragged-extra.tsv', bytes: tsv([header, r1, `${r2}\tstray`, r3]), code: 'E_BAD_DATA', pattern: /line 3: expected 2 tab-separated fields \(label, content\), found 3/ },
    { name: 'ragged TSV: a row missing its text', file: 'ragged-short.tsv', bytes: tsv([header, r1, r2, '1']), code: 'E_BAD_DATA', pattern: /line 4: expected 2 tab-separated fields .*found 1/ },
    { name: 'ragged CSV', file: 'ragged.csv', bytes: utf8('label,text\n0,"fine, quoted"\n1,too,many\n'), code: 'E_BAD_DATA', pattern: /line 3: expected 2 comma-separated fields \(label, text\), found 3/ },
    { name: 'CSV quote never closed', file: 'open-quote.csv', bytes: utf8('label,text\n0,"never closed\n1,ok\n'), code: 'E_BAD_DATA', pattern: /line 2: quoted field is never closed/ },
    { name: 'CSV text after a closing quote', file: 'after-quote.csv', bytes: utf8('label,text\n0,"quoted"tail\n'), code: 'E_BAD_DATA', pattern: /line 2: unexpected "t" after a closing quote/ },
    { name: 'unknown label name', file: 'unknown-label.tsv', bytes: tsv([header, r1, r2.replace(/^0/, 'neutral'), r3]), code: 'E_LABEL_MISMATCH', pattern: /"neutral" \(line 3\).*not in the label list|not in the label list .*"neutral" \(line 3\)/ },
    { name: 'label id out of range', file: 'label-id.tsv', bytes: tsv([header, r1, r2.replace(/^0/, '7'), r3]), code: 'E_LABEL_MISMATCH', pattern: /"7" \(line 3\)/ },
    { name: 'empty label', file: 'empty-label.tsv', bytes: tsv([header, r1, `\t${r2.split('\t')[1]}`]), code: 'E_BAD_DATA', pattern: /line 3: empty label/ },
    { name: 'no label column', file: 'no-label-col.tsv', bytes: tsv(['class\tcontent', r1, r2]), code: 'E_BAD_DATA', pattern: /no label column "label" \(the header names class, content\); say which is which with --text-column <name> --label-column <name>/ },
    { name: 'no text column', file: 'no-text-col.tsv', bytes: tsv(['label\tbody', r1, r2]), code: 'E_BAD_DATA', pattern: /no text column/ },
    { name: 'not UTF-8 (a latin-1 byte on line 3)', file: 'latin1.tsv', bytes: Buffer.concat([tsv([header, r1]), Buffer.from('1\tun film tr'), Buffer.from([0xe8]), Buffer.from('s dr\u00f4le\n', 'latin1')]), code: 'E_BAD_ENCODING', pattern: /not valid UTF-8 \(first bad byte 0xe8 at line 3\); if the file is latin-1, pass --encoding latin1/ },
    { name: 'UTF-16 file read as UTF-8', file: 'utf16.tsv', bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(tsv([header, r1]).toString('utf8'), 'utf16le')]), code: 'E_BAD_ENCODING', pattern: /not valid UTF-8 \(first bad byte 0xff at line 1\)/ },
    { name: 'unknown encoding name', file: 'enc.tsv', bytes: tsv([header, r1, r2]), encoding: 'ebcdic', code: 'E_USAGE', pattern: /unknown encoding "ebcdic" \(known: utf8, latin1, utf16le\)/ },
    { name: 'JSONL: a line that is not JSON', file: 'bad.jsonl', bytes: utf8('{"text": "a", "label": "positive"}\n{"text": "b", label: 1}\n'), code: 'E_BAD_DATA', pattern: /line 2: invalid JSON/ },
    { name: 'JSONL: a record that is an array', file: 'array.jsonl', bytes: utf8('{"text": "a", "label": 1}\n["b", 0]\n'), code: 'E_BAD_DATA', pattern: /line 2: expected a JSON object/ },
    { name: 'JSONL: no text field', file: 'notext.jsonl', bytes: utf8('{"text": "a", "label": 1}\n{"body": "b", "label": 0}\n'), code: 'E_BAD_DATA', pattern: /line 2: no text field/ },
    { name: 'JSONL: text is a number', file: 'numtext.jsonl', bytes: utf8('{"text": 5, "label": 1}\n'), code: 'E_BAD_DATA', pattern: /line 1: field "text" must be a string/ },
    { name: 'JSONL: no label field', file: 'nolabel.jsonl', bytes: utf8('{"text": "a", "label": 1}\n{"text": "b"}\n'), code: 'E_BAD_DATA', pattern: /line 2: no label field "label"/ },
    { name: 'JSONL: label is an object', file: 'objlabel.jsonl', bytes: utf8('{"text": "a", "label": {"name": "positive"}}\n'), code: 'E_BAD_DATA', pattern: /line 1: label must be a string or a number/ },
    { name: 'format cannot be told', file: 'mystery.txt', bytes: utf8('one sentence\nanother one\n'), code: 'E_BAD_DATA', pattern: /cannot tell the format/ },
  ];
}

/** Unlabelled input files (`predict --input`, merge texts) that must be refused. */
export const TEXT_INPUT_CASES: readonly DataCase[] = [
  { name: 'empty file', file: 'empty.txt', bytes: Buffer.alloc(0), code: 'E_BAD_DATA', pattern: /no inputs/ },
  { name: 'only blank lines', file: 'blank.txt', bytes: utf8('\n \r\n\t\n'), code: 'E_BAD_DATA', pattern: /no inputs/ },
  { name: 'not UTF-8', file: 'latin1.txt', bytes: Buffer.concat([utf8('fine\n'), LATIN1_LINE, utf8('\n')]), code: 'E_BAD_ENCODING', pattern: /not valid UTF-8 \(first bad byte 0xe9 at line 2\)/ },
  { name: 'JSONL: invalid line', file: 'bad.jsonl', bytes: utf8('{"text": "a"}\n{"text": \n'), code: 'E_BAD_DATA', pattern: /line 2: invalid JSON/ },
  { name: 'JSONL: record without text', file: 'notext.jsonl', bytes: utf8('{"text": "a"}\n{"title": "b"}\n'), code: 'E_BAD_DATA', pattern: /line 2: no string field "text"/ },
  { name: 'JSONL: text_pair is a number', file: 'pair.jsonl', bytes: utf8('{"text": "a", "text_pair": 3}\n'), code: 'E_BAD_DATA', pattern: /line 1: "text_pair" must be a string/ },
  { name: 'JSONL: a record that is null', file: 'null.jsonl', bytes: utf8('{"text": "a"}\nnull\n'), code: 'E_BAD_DATA', pattern: /line 2: expected a JSON object/ },
];

export interface PickleCase {
  readonly name: string;
  readonly bytes: () => Buffer;
  readonly code: ErrorCode | readonly ErrorCode[];
  readonly pattern: RegExp;
}

const ROOT_PKL = 'pytorch_model/data.pkl';

/** The fixture's zip with some entries replaced (undefined value = removed). */
function fixtureZipWith(edit: Record<string, Uint8Array | undefined>, level: 0 | 6 = 0): Buffer {
  const entries = fixtureBinEntries();
  for (const [k, v] of Object.entries(edit)) {
    if (v === undefined) delete entries[k];
    else entries[k] = v;
  }
  return Buffer.from(zipSync(entries, { level }));
}

const single = (spec: Partial<TorchTensorSpec>, storageBytes: Uint8Array, storageKey = '0'): Buffer =>
  torchZip(torchStateDictPickle([{ name: 'w', storageKey, storage: 'FloatStorage', numel: 4, offset: 0, shape: [4], stride: [1], ...spec }]), { [storageKey]: storageBytes });

/**
 * `pytorch_model.bin` files that must be refused: foreign globals (code execution in Python),
 * opcodes that only exist to run code, damaged zips and pickles, storages that lie.
 */
export function pickleCases(): PickleCase[] {
  const good = fs.readFileSync(FIXTURE_BIN);
  const pkl = fixtureBinEntries()[ROOT_PKL]!;
  const deep = (n: number): Uint8Array => {
    const w = new PickleWriter().proto(2);
    for (let i = 0; i < n; i++) w.emptyDict().str('k');
    w.emptyDict();
    for (let i = 0; i < n; i++) w.setitem();
    return w.stop().bytes();
  };
  const selfRef = (): Uint8Array => {
    const w = new PickleWriter().proto(2).emptyDict();
    const id = w.put();
    return w.str('me').get(id).setitem().stop().bytes();
  };
  return [
    { name: 'evil-bin fixture: builtins.print', bytes: () => fs.readFileSync(path.join(fixture('evil-bin'), 'pytorch_model.bin')), code: 'E_UNSAFE_PICKLE', pattern: /references builtins\.print.*nothing was executed/ },
    { name: 'os.system called through REDUCE', bytes: () => torchZip(new PickleWriter().proto(2).global('os', 'system').str('touch /tmp/pwned').op(0x85).reduce().stop().bytes(), {}), code: 'E_UNSAFE_PICKLE', pattern: /references os\.system/ },
    { name: 'Python 2 name __builtin__.eval (named as builtins.eval)', bytes: () => torchZip(new PickleWriter().proto(2).global('__builtin__', 'eval').stop().bytes(), {}), code: 'E_UNSAFE_PICKLE', pattern: /references builtins\.eval/ },
    { name: 'a foreign global inside a real state dict', bytes: () => {
      const text = Buffer.from(pkl).toString('latin1');
      assert.ok(text.includes('collections\nOrderedDict\n'), 'the fixture pickle names OrderedDict with GLOBAL');
      return fixtureZipWith({ [ROOT_PKL]: Buffer.from(text.replace('collections\nOrderedDict\n', 'subprocess\nPopen\n'), 'latin1') });
    }, code: 'E_UNSAFE_PICKLE', pattern: /references subprocess\.Popen/ },
    { name: 'INST opcode (instantiates a class)', bytes: () => torchZip(Uint8Array.from([0x80, 2, 0x28, 0x69, ...Buffer.from('os\nsystem\n'), 0x2e]), {}), code: ['E_UNSAFE_PICKLE', 'E_BAD_PICKLE'], pattern: /INST|os\.system/ },
    { name: 'a storage of an unsupported type', bytes: () => single({ storage: 'ComplexFloatStorage' }, f32Bytes([1, 2, 3, 4, 5, 6, 7, 8])), code: 'E_BAD_DTYPE', pattern: /storage type torch\.ComplexFloatStorage is not supported/ },
    { name: 'empty file', bytes: () => Buffer.alloc(0), code: 'E_BAD_PICKLE', pattern: /not a PyTorch checkpoint/ },
    { name: 'random bytes', bytes: () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)), code: 'E_BAD_PICKLE', pattern: /not a PyTorch checkpoint/ },
    { name: 'legacy (pre-1.6) raw pickle', bytes: () => Buffer.from(new PickleWriter().proto(2).emptyDict().stop().bytes()), code: 'E_BAD_PICKLE', pattern: /legacy PyTorch format .*re-save it/ },
    { name: 'zip truncated to half', bytes: () => good.subarray(0, good.length >> 1), code: 'E_BAD_PICKLE', pattern: /not a complete zip archive .*truncated/ },
    { name: 'zip missing its last byte', bytes: () => good.subarray(0, good.length - 1), code: 'E_BAD_PICKLE', pattern: /not a complete zip archive|central directory/ },
    { name: 'zip central directory offset points past the end', bytes: () => {
      const b = Buffer.from(good);
      const eocd = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
      b.writeUInt32LE(b.length, eocd + 16);
      return b;
    }, code: 'E_BAD_PICKLE', pattern: /central directory runs past the end/ },
    { name: 'zip without data.pkl', bytes: () => fixtureZipWith({ [ROOT_PKL]: undefined }), code: 'E_BAD_PICKLE', pattern: /no <root>\/data\.pkl/ },
    { name: 'zip with two data.pkl', bytes: () => fixtureZipWith({ 'other/data.pkl': pkl }), code: 'E_BAD_PICKLE', pattern: /2 data\.pkl entries/ },
    { name: 'big-endian storages', bytes: () => fixtureZipWith({ 'pytorch_model/byteorder': Buffer.from('big') }), code: 'E_BAD_PICKLE', pattern: /big-endian; only little-endian/ },
    { name: 'data.pkl cut short (no STOP)', bytes: () => fixtureZipWith({ [ROOT_PKL]: pkl.subarray(0, pkl.length >> 1) }), code: 'E_BAD_PICKLE', pattern: /unexpected end of pickle data|truncated/ },
    { name: 'data.pkl with an unknown opcode', bytes: () => fixtureZipWith({ [ROOT_PKL]: Uint8Array.from([0x80, 2, 0xfe, 0x2e]) }), code: 'E_BAD_PICKLE', pattern: /pickle byte 2/ },
    { name: 'data.pkl protocol 9', bytes: () => fixtureZipWith({ [ROOT_PKL]: Uint8Array.from([0x80, 9, 0x7d, 0x2e]) }), code: 'E_BAD_PICKLE', pattern: /protocol newer than 5/ },
    { name: 'BINBYTES8 length past the end', bytes: () => torchZip(Uint8Array.from([0x80, 2, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x2e]), {}), code: 'E_BAD_PICKLE', pattern: /runs past the end of the pickle/ },
    { name: 'memo read before write', bytes: () => torchZip(new PickleWriter().proto(2).get(5).stop().bytes(), {}), code: 'E_BAD_PICKLE', pattern: /memo index 5 was never stored/ },
    { name: 'stack underflow', bytes: () => torchZip(new PickleWriter().proto(2).setitem().stop().bytes(), {}), code: 'E_BAD_PICKLE', pattern: /stack underflow/ },
    { name: 'top-level object is a list', bytes: () => torchZip(new PickleWriter().proto(2).op(0x5d).stop().bytes(), {}), code: 'E_BAD_PICKLE', pattern: /no state dict/ },
    { name: 'state dict with no tensors', bytes: () => torchZip(new PickleWriter().proto(2).emptyDict().str('epoch').int(3).setitem().stop().bytes(), {}), code: 'E_BAD_PICKLE', pattern: /holds no tensors/ },
    { name: 'a dict that contains itself', bytes: () => torchZip(selfRef(), {}), code: 'E_BAD_PICKLE', pattern: /contains itself|nested|cycle|deep/ },
    { name: 'dicts nested 100,000 deep', bytes: () => torchZip(deep(100_000), {}), code: 'E_BAD_PICKLE', pattern: /nested|deep/ },
    { name: 'a list of 200,000 items appended at once (APPENDS)', bytes: () => {
      const ops = [0x80, 2, 0x5d, 0x28];
      for (let i = 0; i < 200_000; i++) ops.push(0x4b, 0);
      return torchZip(Uint8Array.from([...ops, 0x65, 0x2e]), {});
    }, code: 'E_BAD_PICKLE', pattern: /no state dict/ },
    { name: 'a storage missing from the archive', bytes: () => fixtureZipWith({ 'pytorch_model/data/0': undefined }), code: 'E_BAD_PICKLE', pattern: /storage "0" is missing from the archive/ },
    { name: 'a storage shorter than its tensor', bytes: () => fixtureZipWith({ 'pytorch_model/data/0': new Uint8Array(8) }), code: 'E_BAD_PICKLE', pattern: /storage "0" has 8 bytes but F32\[64\] needs 256/ },
    { name: 'a storage claiming 2^50 elements', bytes: () => single({ numel: 2 ** 50, shape: [2 ** 25, 2 ** 25], stride: [2 ** 25, 1] }, f32Bytes([1, 2])), code: 'E_BAD_PICKLE', pattern: /storage "0" has 8 bytes but F32\[1125899906842624\]/ },
    { name: 'a tensor view past its storage', bytes: () => single({ offset: 2 }, f32Bytes([1, 2, 3, 4])), code: 'E_BAD_PICKLE', pattern: /reaches element 5 of a 4-element storage "0"/ },
    { name: 'a stride-0 view of 10^12 elements over one value', bytes: () => single({ numel: 1, shape: [1e6, 1e6], stride: [0, 0] }, f32Bytes([1])), code: 'E_BAD_PICKLE', pattern: /elements|stride|overlap/ },
    { name: 'size and stride of different lengths', bytes: () => single({ shape: [2, 2], stride: [2] }, f32Bytes([1, 2, 3, 4])), code: 'E_BAD_PICKLE', pattern: /2 dims but stride has 1/ },
    { name: 'a storage key that is a path', bytes: () => single({ storageKey: '../../x' }, f32Bytes([1, 2, 3, 4]), '0'), code: 'E_BAD_PICKLE', pattern: /storage key "\.\.\/\.\.\/x" is not a plain name/ },
  ];
}
