import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { combine } from '../../src/artifact/combine.js';
import { exportTriton } from '../../src/export/triton.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

// Triton's own schema (triton-inference-server/common, protobuf/model_config.proto, BSD-3 licence,
// header kept) is the judge: config.pbtxt is parsed by a text-format reader written here, and every
// field, enum value and type is checked against the ModelConfig message.
const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'model_config.proto');

type Parsed = { [field: string]: ParsedValue[] };
type ParsedValue = { kind: 'scalar'; text: string; quoted: boolean } | { kind: 'message'; value: Parsed };

/** A protobuf text-format reader: fields `name: scalar`, `name: [a, b]`, `name { … }`, `name [ {…}, … ]`. */
function parseTextFormat(src: string): Parsed {
  const tokens = src.match(/"(?:[^"\\]|\\.)*"|[{}[\]:,]|[^\s{}[\]:,"]+/g) ?? [];
  let i = 0;
  const scalar = (): ParsedValue => {
    const t = tokens[i++]!;
    if (/^[{}[\]:,]$/.test(t)) throw new Error(`unexpected ${t}`);
    return t.startsWith('"') ? { kind: 'scalar', text: JSON.parse(t) as string, quoted: true } : { kind: 'scalar', text: t, quoted: false };
  };
  const message = (end: string | null): Parsed => {
    const out: Parsed = {};
    while (i < tokens.length && tokens[i] !== end) {
      const name = tokens[i++]!;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad field name ${name}`);
      if (tokens[i] === ':') i++;
      const list = (out[name] ??= []);
      if (tokens[i] === '{') {
        i++;
        list.push({ kind: 'message', value: message('}') });
        i++;
      } else if (tokens[i] === '[') {
        i++;
        while (tokens[i] !== ']') {
          if (tokens[i] === '{') {
            i++;
            list.push({ kind: 'message', value: message('}') });
            i++;
          } else list.push(scalar());
          if (tokens[i] === ',') i++;
        }
        i++;
      } else list.push(scalar());
    }
    return out;
  };
  const m = message(null);
  assert.equal(i, tokens.length, 'the whole file parses');
  return m;
}

const INT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64']);

/** Every field known to the message type, with a value of its type; returns the paths checked. */
function checkAgainst(type: protobuf.Type, m: Parsed, where: string, seen: string[]): void {
  for (const [name, values] of Object.entries(m)) {
    const field = type.fields[name];
    assert.ok(field, `${where}${name}: not a field of ${type.name}`);
    field.resolve();
    if (!field.repeated) assert.equal(values.length, 1, `${where}${name}: not repeated, given ${values.length} times`);
    for (const v of values) {
      const p = `${where}${name}`;
      seen.push(p);
      if (field.resolvedType instanceof protobuf.Type) {
        assert.equal(v.kind, 'message', `${p}: a ${field.type} message`);
        checkAgainst(field.resolvedType, (v as { value: Parsed }).value, `${p}.`, seen);
      } else if (field.resolvedType instanceof protobuf.Enum) {
        assert.ok(v.kind === 'scalar' && !v.quoted && v.text in field.resolvedType.values, `${p}: ${JSON.stringify(v)} is not a value of ${field.type}`);
      } else if (INT_TYPES.has(field.type)) {
        assert.ok(v.kind === 'scalar' && !v.quoted && /^-?\d+$/.test(v.text), `${p}: an integer`);
        if (field.type.startsWith('uint') || field.type.startsWith('fixed')) assert.ok(!v.text.startsWith('-'), `${p}: unsigned`);
      } else if (field.type === 'string') {
        assert.ok(v.kind === 'scalar' && v.quoted, `${p}: a quoted string`);
      } else if (field.type === 'bool') {
        assert.ok(v.kind === 'scalar' && (v.text === 'true' || v.text === 'false'), `${p}: true or false`);
      } else if (field.type === 'float' || field.type === 'double') {
        assert.ok(v.kind === 'scalar' && Number.isFinite(Number(v.text)), `${p}: a number`);
      } else assert.fail(`${p}: field type ${field.type} not handled by the test`);
    }
  }
}

const first = (m: Parsed, f: string): ParsedValue => m[f]![0]!;
const text = (m: Parsed, f: string): string => (first(m, f) as { text: string }).text;

describe('bertfuse export triton', () => {
  let modelConfig: protobuf.Type;
  const dir = tempDir();
  let combined: string;
  before(async () => {
    // keepCase: field names as written in the .proto (snake_case), as the text format uses them.
    modelConfig = protobuf.parse(fs.readFileSync(PROTO, 'utf8'), { keepCase: true }).root.lookupType('inference.ModelConfig');
    const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
    const data = path.join(dir, 'dev.tsv');
    fs.writeFileSync(data, lines.slice(0, 121).join('\n') + '\n');
    const out = await combine(
      { members: [{ path: fixture('sst2-sibling-a') }, { path: fixture('sst2-stranger-b') }], data: { path: data }, evalData: null, labels: ['negative', 'positive'], labelMap: {}, method: 'cascade', options: {}, seed: 0, folds: 3, resamples: 0, out: path.join(dir, 'combined') },
      { registry: FUSION_METHODS },
    );
    combined = out.out;
  });

  test('config.pbtxt parses against Triton model_config.proto and describes the graph', async () => {
    const r = await exportTriton(combined, path.join(dir, 'repo'), { maxBatchSize: 16, instances: 2 });
    const cfgText = fs.readFileSync(path.join(dir, 'repo', r.name, 'config.pbtxt'), 'utf8');
    const cfg = parseTextFormat(cfgText);
    const seen: string[] = [];
    checkAgainst(modelConfig, cfg, '', seen);
    assert.ok(seen.includes('dynamic_batching.max_queue_delay_microseconds') && seen.includes('instance_group.kind') && seen.includes('output.label_filename'));
    assert.equal(text(cfg, 'platform'), 'onnxruntime_onnx');
    assert.equal(text(cfg, 'backend'), 'onnxruntime');
    assert.equal(text(cfg, 'max_batch_size'), '16');
    const inputs = cfg['input']!.map((v) => (v as { value: Parsed }).value);
    const manifest = JSON.parse(fs.readFileSync(path.join(combined, 'bertfuse.json'), 'utf8')) as { model: { inputs: string[]; outputs: string[] }; labels: string[] };
    assert.deepEqual(inputs.map((x) => text(x, 'name')), manifest.model.inputs);
    for (const x of inputs) {
      assert.equal(text(x, 'data_type'), 'TYPE_INT64');
      assert.deepEqual(x['dims']!.map((d) => (d as { text: string }).text), ['-1'], 'one dynamic sequence dim after the batch dim');
    }
    const outputs = cfg['output']!.map((v) => (v as { value: Parsed }).value);
    assert.deepEqual(outputs.map((x) => text(x, 'name')), manifest.model.outputs);
    const logits = outputs.find((x) => text(x, 'name') === 'logits')!;
    assert.deepEqual(logits['dims']!.map((d) => (d as { text: string }).text), ['2']);
    assert.equal(text(logits, 'label_filename'), 'labels.txt');
    assert.equal(fs.readFileSync(path.join(dir, 'repo', r.name, 'labels.txt'), 'utf8'), 'negative\npositive\n');
    const dyn = (first(cfg, 'dynamic_batching') as { value: Parsed }).value;
    assert.deepEqual(dyn['preferred_batch_size']!.map((d) => Number((d as { text: string }).text)), [4, 8, 16]);
    const inst = (first(cfg, 'instance_group') as { value: Parsed }).value;
    assert.equal(text(inst, 'kind'), 'KIND_CPU');
    assert.equal(text(inst, 'count'), '2');
    // The version folder holds the graph bertfuse wrote, byte for byte; tokenizers sit beside it.
    assert.deepEqual(fs.readFileSync(path.join(dir, 'repo', r.name, '1', 'model.onnx')), fs.readFileSync(path.join(combined, 'model.onnx')));
    const client = JSON.parse(fs.readFileSync(path.join(dir, 'repo', r.name, 'tokenizer', 'bertfuse-client.json'), 'utf8')) as { groups: { tokenizer: string; inputs: string[] }[] };
    assert.deepEqual(client.groups.flatMap((g) => g.inputs), manifest.model.inputs);
    for (const g of client.groups) assert.ok(fs.existsSync(path.join(dir, 'repo', r.name, g.tokenizer, 'tokenizer.json')));
  });

  test('the schema check catches what Triton would reject (a misspelt field, a wrong enum, a quoted number)', () => {
    for (const bad of ['max_batchsize: 4\n', 'instance_group [ { kind: KIND_TPU } ]\n', 'max_batch_size: "4"\n', 'input [ { name: "x" data_type: TYPE_INT64 dims: [ "a" ] } ]\n']) {
      assert.throws(() => checkAgainst(modelConfig, parseTextFormat(bad), '', []), assert.AssertionError, bad);
    }
  });

  test('CLI: export to a folder holding other files is refused; a missing model.onnx is one line', async () => {
    const busy = path.join(dir, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'notes.md'), 'mine');
    const r = await runCli(['export', 'triton', combined, busy]);
    assert.ok(isOneLineError(r), r.stderr);
    assert.equal(fs.readFileSync(path.join(busy, 'notes.md'), 'utf8'), 'mine');
    const none = await runCli(['export', 'triton', fixture('sst2-sibling-a'), path.join(dir, 'x')]);
    assert.ok(isOneLineError(none), none.stderr);
    assert.match(none.stderr, /no model\.onnx/);
  });
});
