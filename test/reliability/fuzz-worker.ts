/**
 * Bounded property-based fuzzing of the weight readers, run in a worker thread so that the test
 * can stop it (and name the input) if a case hangs. Every property says the same thing: whatever the
 * bytes, the reader either succeeds (and then every tensor reads back with the length its shape
 * implies) or throws a one-line BertfuseError naming the file. Anything else fails the property.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { unzipSync, zipSync } from 'fflate';
import { readBertConfig } from '../../src/checkpoint/config.js';
import { openTorchBin } from '../../src/checkpoint/pickle/torch-bin.js';
import { readLabelled } from '../../src/data/labelled.js';
import { readTextInputs } from '../../src/data/texts.js';
import { SafetensorsFile, writeSafetensors } from '../../src/checkpoint/safetensors.js';
import { numel, type TensorStore } from '../../src/checkpoint/tensor-store.js';
import { BertfuseError } from '../../src/errors.js';
import { FIXTURE_BIN, PickleWriter, f32Bytes, joinSafetensors, torchStateDictPickle, torchZip } from '../helpers/corrupt.js';

export interface FuzzJob {
  readonly property: PropertyName;
  readonly seed: number;
  readonly numRuns: number;
  readonly timeLimitMs: number;
}

export type FuzzMessage =
  | { kind: 'input'; run: number; summary: string }
  | { kind: 'done'; runs: number; failed: boolean; report: string; slowestMs: number; slowest: string; outcomes: Record<string, number> };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-fuzz-'));
let run = 0;
let slowestMs = 0;
let slowest = '';
const outcomes: Record<string, number> = {};

function summarise(bytes: Uint8Array): string {
  return `${bytes.length} bytes, head ${Buffer.from(bytes.subarray(0, 48)).toString('hex')}`;
}

/** Writes the bytes, opens and reads everything, and classifies the outcome. */
function exercise(open: (file: string) => TensorStore, bytes: Uint8Array, ext: string): boolean {
  const file = path.join(dir, `input${ext}`);
  fs.writeFileSync(file, bytes);
  const summary = summarise(bytes);
  parentPort!.postMessage({ kind: 'input', run: ++run, summary } satisfies FuzzMessage);
  const t0 = performance.now();
  try {
    const store = open(file);
    try {
      for (const name of store.names()) {
        const info = store.info(name);
        const t = store.read(name);
        if (t.data.length !== numel(info.shape)) throw new Error(`tensor "${name}" read ${t.data.length} values for shape [${info.shape.join(', ')}]`);
      }
    } finally {
      store.close();
    }
    outcomes['opened'] = (outcomes['opened'] ?? 0) + 1;
    return true;
  } catch (e) {
    if (!(e instanceof BertfuseError)) throw new Error(`not a BertfuseError on ${summary}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
    if (/[\r\n\u2028\u2029]/.test(e.message) || !e.message.includes(file)) throw new Error(`bad message on ${summary}: ${JSON.stringify(e.message)}`);
    outcomes[e.code] = (outcomes[e.code] ?? 0) + 1;
    return true;
  } finally {
    const ms = performance.now() - t0;
    if (ms > slowestMs) {
      slowestMs = ms;
      slowest = summary;
    }
  }
}

// ───────────── safetensors ─────────────

function smallSafetensors(): Buffer {
  const file = path.join(dir, 'seed.safetensors');
  writeSafetensors(file, [
    { name: 'a.weight', shape: [3, 4], data: () => Float32Array.from({ length: 12 }, (_, i) => i / 7) },
    { name: 'a.bias', shape: [3], data: () => new Float32Array([1, -2, 3]) },
    { name: 'b', shape: [2, 2, 2], data: () => new Float32Array(8).fill(0.5) },
  ]);
  return fs.readFileSync(file);
}

const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });

/** Flip bytes (mostly in the length prefix and header, where parsing happens) and maybe truncate. */
function mutate(base: Uint8Array, focus: number): fc.Arbitrary<Uint8Array> {
  return fc.record({ muts: fc.array(mutation, { minLength: 1, maxLength: 8 }), cut: fc.option(fc.nat(), { freq: 4 }), inHeader: fc.boolean() }).map(({ muts, cut, inHeader }) => {
    const b = Uint8Array.from(base);
    for (const m of muts) b[m.at % (inHeader ? Math.min(focus, b.length) : b.length)] = m.value;
    return cut === null ? b : b.subarray(0, cut % (b.length + 1));
  });
}

const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];
const dim = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: -3, max: 2 ** 40 }), fc.double(), fc.constant(2 ** 53));
const entry = fc.oneof(
  { weight: 8, arbitrary: fc.record({ dtype: fc.oneof(fc.constantFrom(...DTYPES), fc.string()), shape: fc.array(dim, { maxLength: 4 }), data_offsets: fc.tuple(fc.oneof(fc.nat(200), dim), fc.oneof(fc.nat(200), dim)) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const header = fc.dictionary(fc.oneof(fc.constantFrom('__metadata__', 'a', 'b'), fc.string({ maxLength: 8 })), entry, { maxKeys: 5 });
const arbitraryHeader = fc.record({ header, data: fc.uint8Array({ maxLength: 256 }), lie: fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { freq: 5 }) }).map(({ header, data, lie }) =>
  Uint8Array.from(joinSafetensors(header, data, lie === null ? {} : { lengthOverride: lie })),
);

// ───────────── pickle ─────────────

function tinyBin(): { pkl: Uint8Array; storages: Record<string, Uint8Array> } {
  return {
    pkl: torchStateDictPickle([
      { name: 'enc.w', storageKey: '0', storage: 'FloatStorage', numel: 9, offset: 0, shape: [2, 3], stride: [3, 1] },
      { name: 'enc.b', storageKey: '0', storage: 'FloatStorage', numel: 9, offset: 6, shape: [3], stride: [1] },
      { name: 'head.t', storageKey: '1', storage: 'HalfStorage', numel: 4, offset: 0, shape: [2, 2], stride: [1, 2] },
    ]),
    storages: { '0': f32Bytes([1, 2, 3, 4, 5, 6, 7, 8, 9]), '1': new Uint8Array([0, 0x3c, 0, 0x40, 0, 0x42, 0, 0x44]) },
  };
}

/** Pickle opcodes with well-formed arguments, so random streams get deep into the reader. */
const op = fc.oneof(
  fc.constantFrom(0x28, 0x29, 0x30, 0x31, 0x32, 0x4e, 0x52, 0x51, 0x5d, 0x61, 0x65, 0x73, 0x74, 0x75, 0x7d, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x94, 0x62, 0x2e).map((o) => [o]),
  fc.integer({ min: 0, max: 255 }).map((n) => [0x4b, n]),
  fc.integer({ min: 0, max: 4 }).map((n) => [0x71, n]),
  fc.integer({ min: 0, max: 4 }).map((n) => [0x68, n]),
  fc.constantFrom('storage', 'w', 'cpu', '0', 'k').map((s) => [...new PickleWriter().str(s).bytes()]),
  fc.constantFrom(
    ['torch._utils', '_rebuild_tensor_v2'],
    ['collections', 'OrderedDict'],
    ['torch', 'FloatStorage'],
    ['torch._utils', '_rebuild_parameter'],
    ['torch._tensor', '_rebuild_from_type_v2'],
    ['torch', 'Tensor'],
    ['builtins', 'exec'],
  ).map(([m, n]) => [...new PickleWriter().global(m!, n!).bytes()]),
  fc.uint8Array({ maxLength: 3 }).map((b) => [...b]),
);
const opStream = fc.array(op, { maxLength: 60 }).map((ops) => Uint8Array.from([0x80, 2, ...ops.flat(), 0x2e]));

// ───────────── properties ─────────────

export type PropertyName =
  | 'safetensors-mutations'
  | 'safetensors-headers'
  | 'safetensors-bytes'
  | 'pickle-mutations'
  | 'pickle-fixture-mutations'
  | 'pickle-opcodes'
  | 'pickle-zip-mutations'
  | 'data-files'
  | 'config-json';

/** Runs a reader that returns something (not a tensor store) under the same rules. */
function exerciseReader(read: (file: string) => unknown, bytes: Uint8Array, ext: string): boolean {
  return exercise(
    (file) => {
      read(file);
      return { source: file, names: () => [], has: () => false, info: () => { throw new Error('unused'); }, read: () => { throw new Error('unused'); }, close: () => undefined };
    },
    bytes,
    ext,
  );
}

/** Text that looks like data: tabs, commas, quotes, newlines (LF and CRLF), braces, labels and a BOM. */
const dataText = fc
  .array(fc.oneof(fc.constantFrom('\t', ',', '"', '\n', '\r\n', '{', '}', '[', ']', ':', 'label', 'text', '0', '1', 'positive', 'negative', '"text"', '"label"', '\uFEFF', ' '), fc.string({ maxLength: 6 })), { maxLength: 60 })
  .map((parts) => Uint8Array.from(Buffer.from(parts.join(''), 'utf8')));
const dataBytes = fc.oneof({ weight: 4, arbitrary: dataText }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) });

function property(name: PropertyName): fc.IPropertyWithHooks<[Uint8Array]> {
  const st = (bytes: Uint8Array): boolean => exercise((f) => SafetensorsFile.open(f), bytes, '.safetensors');
  const bin = (bytes: Uint8Array): boolean => exercise(openTorchBin, bytes, '.bin');
  switch (name) {
    case 'safetensors-mutations': {
      const base = smallSafetensors();
      return fc.property(mutate(base, 8 + Number(base.readBigUInt64LE(0))), st);
    }
    case 'safetensors-headers':
      return fc.property(arbitraryHeader, st);
    case 'safetensors-bytes':
      return fc.property(fc.uint8Array({ maxLength: 512 }), st);
    case 'pickle-mutations': {
      const { pkl, storages } = tinyBin();
      return fc.property(mutate(pkl, pkl.length), (p) => bin(torchZip(p, storages)));
    }
    case 'pickle-fixture-mutations': {
      // The real torch.save pickle of sst2-sibling-a, damaged, with its real storages.
      const entries = unzipSync(fs.readFileSync(FIXTURE_BIN));
      const key = Object.keys(entries).find((k) => k.endsWith('/data.pkl'))!;
      const pkl = entries[key]!;
      return fc.property(mutate(pkl, pkl.length), (p) => bin(zipSync({ ...entries, [key]: p }, { level: 0 })));
    }
    case 'pickle-opcodes': {
      const { storages } = tinyBin();
      return fc.property(opStream, (p) => bin(torchZip(p, storages)));
    }
    case 'pickle-zip-mutations': {
      const { pkl, storages } = tinyBin();
      const zip = torchZip(pkl, storages);
      return fc.property(mutate(zip, zip.length), bin);
    }
    case 'data-files':
      return fc.property(
        fc.tuple(dataBytes, fc.constantFrom('.tsv', '.csv', '.jsonl', '.txt'), fc.boolean()).map(([b, ext, labels]) => {
          const tagged = Uint8Array.from([...b, ext.charCodeAt(1), labels ? 1 : 0]);
          return tagged;
        }),
        (tagged) => {
          const bytes = tagged.subarray(0, tagged.length - 2);
          const ext = { t: '.tsv', c: '.csv', j: '.jsonl' }[String.fromCharCode(tagged[tagged.length - 2]!)] ?? '.txt';
          const withLabels = tagged[tagged.length - 1] === 1;
          exerciseReader((f) => readLabelled(f, withLabels ? { labels: ['negative', 'positive'] } : ext === '.txt' ? { label: 'positive' } : {}), bytes, ext);
          return exerciseReader((f) => readTextInputs(f), bytes, ext);
        },
      );
    case 'config-json':
      return fc.property(
        fc.oneof(
          { weight: 3, arbitrary: fc.record({ architectures: fc.oneof(fc.constant(['BertForSequenceClassification']), fc.jsonValue({ maxDepth: 1 })), model_type: fc.oneof(fc.constant('bert'), fc.jsonValue({ maxDepth: 0 })), hidden_size: dim, num_attention_heads: dim, num_hidden_layers: dim, intermediate_size: dim, vocab_size: dim, max_position_embeddings: dim, type_vocab_size: dim, layer_norm_eps: fc.oneof(fc.double(), fc.jsonValue({ maxDepth: 0 })), hidden_act: fc.oneof(fc.constantFrom('gelu', 'relu', 'swish'), fc.jsonValue({ maxDepth: 0 })), id2label: fc.jsonValue({ maxDepth: 2 }), label2id: fc.jsonValue({ maxDepth: 2 }), num_labels: dim }, { requiredKeys: [] }) },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
        ).map((j) => Uint8Array.from(Buffer.from(JSON.stringify(j) ?? 'null'))),
        (bytes) => exerciseReader(readBertConfig, bytes, '.json'),
      );
    default: {
      const never: never = name;
      throw new Error(`unknown property ${String(never)}`);
    }
  }
}

const job = workerData as FuzzJob;
const details = fc.check(property(job.property), { seed: job.seed, numRuns: job.numRuns, interruptAfterTimeLimit: job.timeLimitMs, markInterruptAsFailure: false });
fs.rmSync(dir, { recursive: true, force: true });
parentPort!.postMessage({
  kind: 'done',
  runs: details.numRuns,
  failed: details.failed,
  report: details.failed ? `${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}\ncounterexample path ${details.counterexamplePath ?? '?'} (seed ${job.seed})` : '',
  slowestMs,
  slowest,
  outcomes,
} satisfies FuzzMessage);
