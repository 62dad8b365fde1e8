import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { assertInsideFolder } from '../checkpoint/folder-files.js';
import { assertFinite } from '../checkpoint/load.js';
import { decodeToFloat32, type DType } from '../checkpoint/dtype.js';
import { BertfuseError } from '../errors.js';

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type GraphProto = onnxProto.onnx.IGraphProto;

/*
 * An .onnx file given to bertfuse (an export, a combined folder's graph) may carry NaN/Inf in its
 * weights just like a safetensors file, and they poison every output the same way; so they are
 * refused the same way (E_NONFINITE, `--allow-nonfinite` to accept). Every floating-point tensor
 * is scanned: graph initializers, Constant nodes' values and subgraphs' tensors, whether the
 * values are in raw_data, in the typed fields or in an external data file beside the model.
 */

/** ONNX TensorProto.DataType codes of the floating-point types, and how their bytes decode. */
const FLOAT_TYPES: ReadonlyMap<number, DType> = new Map([
  [1, 'F32'],
  [10, 'F16'],
  [11, 'F64'],
  [16, 'BF16'],
]);
const BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, F64: 8, BF16: 2 };
/** External data is scanned in slices, so a multi-GB side file never sits in memory. */
const SLICE_ELEMENTS = 1 << 24;

function* graphTensors(g: GraphProto | null | undefined, depth = 0): Generator<TensorProto> {
  if (!g || depth > 16) return;
  for (const t of g.initializer ?? []) yield t;
  for (const s of g.sparseInitializer ?? []) if (s.values) yield s.values;
  for (const node of g.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.t) yield a.t;
      for (const t of a.tensors ?? []) yield t;
      if (a.sparseTensor?.values) yield a.sparseTensor.values;
      yield* graphTensors(a.g, depth + 1);
      for (const sub of a.graphs ?? []) yield* graphTensors(sub, depth + 1);
    }
  }
}

function numel(t: TensorProto): number {
  return (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
}

function externalEntry(t: TensorProto, key: string): string | undefined {
  return (t.externalData ?? []).find((e) => e.key === key)?.value ?? undefined;
}

function scanExternal(t: TensorProto, dtype: DType, name: string, model: string): void {
  const dir = path.dirname(path.resolve(model));
  const location = externalEntry(t, 'location');
  if (!location || path.isAbsolute(location) || location.split(/[\\/]/).includes('..')) {
    throw new BertfuseError('E_BAD_ONNX', `initializer "${name}" names external data ${JSON.stringify(location ?? null)}, which must be a file beside the model`, model);
  }
  const file = path.join(dir, location);
  assertInsideFolder(file, dir);
  const offset = Number(externalEntry(t, 'offset') ?? 0);
  const width = BYTES[dtype]!;
  const length = Number(externalEntry(t, 'length') ?? numel(t) * width);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new BertfuseError('E_MISSING_FILE', `external data of initializer "${name}" is missing`, file);
  }
  try {
    const step = SLICE_ELEMENTS * width;
    const buf = Buffer.alloc(Math.min(step, Math.max(0, length)));
    for (let at = 0; at < length; at += step) {
      const n = Math.min(step, length - at);
      const got = fs.readSync(fd, buf, 0, n, offset + at);
      if (got < n) throw new BertfuseError('E_BAD_ONNX', `external data of initializer "${name}" ends early (truncated?)`, file);
      try {
        assertFinite(decodeToFloat32(buf.subarray(0, n - (n % width)), dtype), name, file);
      } catch (e) {
        if (e instanceof BertfuseError && e.code === 'E_NONFINITE' && at > 0) {
          throw new BertfuseError('E_NONFINITE', `${e.message.slice(file.length + 2)} (in the slice from element ${at / width})`, file);
        }
        throw e;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

function scanTensor(t: TensorProto, model: string): void {
  const dtype = FLOAT_TYPES.get(t.dataType ?? 0);
  if (!dtype) return;
  const name = t.name || '(unnamed)';
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return scanExternal(t, dtype, name, model);
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData;
    // decodeToFloat32 reads through a DataView, so unaligned raw_data views are fine.
    return assertFinite(decodeToFloat32(raw.subarray(0, raw.length - (raw.length % BYTES[dtype]!)), dtype), name, model);
  }
  if (dtype === 'F32' && t.floatData?.length) return assertFinite(Float32Array.from(t.floatData), name, model);
  if (dtype === 'F64' && t.doubleData?.length) return assertFinite(Float32Array.from(t.doubleData), name, model);
  if ((dtype === 'F16' || dtype === 'BF16') && t.int32Data?.length) {
    const bytes = new Uint8Array(t.int32Data.length * 2);
    const view = new DataView(bytes.buffer);
    t.int32Data.forEach((v, i) => view.setUint16(i * 2, v & 0xffff, true));
    return assertFinite(decodeToFloat32(bytes, dtype), name, model);
  }
}

/**
 * Refuses an .onnx file holding NaN/±Infinity in any floating-point tensor (E_NONFINITE, naming
 * the tensor). A file that does not decode is left to onnxruntime, which says what is wrong.
 */
export function assertOnnxFinite(model: string): void {
  let decoded: onnxProto.onnx.ModelProto;
  try {
    decoded = onnx.ModelProto.decode(fs.readFileSync(model));
  } catch {
    return;
  }
  for (const t of graphTensors(decoded.graph)) scanTensor(t, model);
}
