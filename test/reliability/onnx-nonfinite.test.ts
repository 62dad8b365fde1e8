/**
 * NaN/Inf inside an .onnx file (initializers in raw_data or typed fields, Constant nodes, float16,
 * external data, a combined folder's graph) are refused like NaN in safetensors: one line naming
 * the file and the tensor, E_NONFINITE, nothing changed; `--allow-nonfinite` lets the same file run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { combinedFolder, exportedOnnx, smallTsv } from './artifacts.js';
import { BoundedCli, assertOneLineRefusal, unchanged } from './bounded.js';
import { stageFixture } from './consumers.js';

const { onnx } = onnxProto;
const root = tempDir('bertfuse-onnx-nonfinite-');
const cli = new BoundedCli();
after(() => cli.close());

const INDEX = 37;
let good = '';

/** A copy of the exported model's folder whose graph was edited by `edit`. */
function poisoned(name: string, edit: (m: onnxProto.onnx.ModelProto, dir: string) => void): string {
  const dir = stageFixture(fixture('sst2-sibling-a'), path.join(root, name), false);
  const m = onnx.ModelProto.decode(fs.readFileSync(good));
  edit(m, dir);
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, onnx.ModelProto.encode(m).finish());
  return file;
}

/** The first float initializer with at least INDEX+1 values stored in raw_data. */
function bigInitializer(m: onnxProto.onnx.ModelProto): onnxProto.onnx.ITensorProto {
  const t = m.graph!.initializer!.find((x) => x.dataType === 1 && (x.rawData?.length ?? 0) >= 4 * (INDEX + 1));
  assert.ok(t, 'a float initializer');
  t.rawData = Uint8Array.from(t.rawData!); // own copy, writable
  return t;
}

function setRaw(t: onnxProto.onnx.ITensorProto, value: number): void {
  new DataView(t.rawData!.buffer, t.rawData!.byteOffset, t.rawData!.byteLength).setFloat32(INDEX * 4, value, true);
}

function constantNode(name: string, tensor: onnxProto.onnx.ITensorProto): onnxProto.onnx.INodeProto {
  return { opType: 'Constant', name, output: [`${name}_out`], attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: tensor }] };
}

const CASES: readonly { name: string; make: () => { file: string; names: string; tensor: string }; shows: RegExp }[] = [
  ...([['NaN', NaN, /first: NaN at index 37/], ['+Infinity', Infinity, /first: Infinity at index 37/], ['-Infinity', -Infinity, /first: -Infinity at index 37/]] as const).map(([what, value, shows]) => ({
    name: `initializer raw_data holding ${what}`,
    make: () => {
      let tensor = '';
      const file = poisoned(`raw-${what}`, (m) => {
        const t = bigInitializer(m);
        setRaw(t, value);
        tensor = t.name!;
      });
      return { file, names: file, tensor };
    },
    shows,
  })),
  { name: 'initializer in float_data (not raw_data) holding NaN', make: () => {
    let tensor = '';
    const file = poisoned('float-data', (m) => {
      const t = bigInitializer(m);
      const values = Array.from(new Float32Array(t.rawData!.slice().buffer));
      values[INDEX] = NaN;
      t.rawData = new Uint8Array(0);
      t.floatData = values;
      tensor = t.name!;
    });
    return { file, names: file, tensor };
  }, shows: /first: NaN at index 37/ },
  { name: 'a Constant node holding Infinity', make: () => {
    const file = poisoned('constant', (m) => {
      m.graph!.node!.push(constantNode('poison', { name: 'poison_value', dataType: 1, dims: [3], floatData: [0, Infinity, 1] }));
    });
    return { file, names: file, tensor: 'poison_value' };
  }, shows: /first: Infinity at index 1/ },
  { name: 'a float16 Constant holding +Inf (0x7c00)', make: () => {
    const file = poisoned('fp16', (m) => {
      const raw = new Uint8Array(8);
      new DataView(raw.buffer).setUint16(4, 0x7c00, true);
      m.graph!.node!.push(constantNode('half', { name: 'half_value', dataType: 10, dims: [4], rawData: raw }));
    });
    return { file, names: file, tensor: 'half_value' };
  }, shows: /first: Infinity at index 2/ },
  { name: 'external data holding NaN', make: () => {
    let tensor = '';
    let side = '';
    const file = poisoned('external', (m, dir) => {
      const t = bigInitializer(m);
      setRaw(t, NaN);
      side = path.join(dir, 'model.onnx_data');
      fs.writeFileSync(side, Buffer.concat([Buffer.alloc(64), Buffer.from(t.rawData!)]));
      t.externalData = [{ key: 'location', value: 'model.onnx_data' }, { key: 'offset', value: '64' }, { key: 'length', value: String(t.rawData!.length) }];
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.rawData = new Uint8Array(0);
      tensor = t.name!;
    });
    return { file, names: side, tensor };
  }, shows: /first: NaN at index 37/ },
];

describe('NaN/Inf inside an .onnx file: refused unless allowed', () => {
  before(async () => {
    good = await exportedOnnx(path.join(root, 'good'));
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const { file, names, tensor } = c.make();
      const dir = path.dirname(file);
      const r = await unchanged(dir, () => cli.run(['predict', file, '--text', 'a fine film']));
      const esc = tensor.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assertOneLineRefusal(r, { names, pattern: new RegExp(`tensor "${esc}" holds 1 non-finite value \\(${c.shows.source}\\).*--allow-nonfinite`) });
    });
  }

  test('--allow-nonfinite lets the same file run; the good export runs without it', async () => {
    const file = poisoned('allowed', (m) => setRaw(bigInitializer(m), NaN));
    const allowed = await cli.run(['predict', file, '--text', 'a fine film', '--json', '--allow-nonfinite']);
    assert.equal(allowed.code, 0, allowed.stderr);
    const plain = await cli.run(['predict', good, '--text', 'a fine film', '--json']);
    assert.equal(plain.code, 0, plain.stderr);
  });

  test("a combined folder's graph holding NaN is refused", async () => {
    const dir = await combinedFolder(path.join(root, 'combined'), smallTsv(root));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'bertfuse.json'), 'utf8')) as { model: { file: string } };
    const file = path.join(dir, manifest.model.file);
    const m = onnx.ModelProto.decode(fs.readFileSync(file));
    const t = bigInitializer(m);
    setRaw(t, NaN);
    fs.writeFileSync(file, onnx.ModelProto.encode(m).finish());
    const r = await unchanged(dir, () => cli.run(['predict', dir, '--text', 'a fine film']));
    assertOneLineRefusal(r, { names: file, pattern: /holds 1 non-finite value \(first: NaN at index 37\)/ });
  });
});
