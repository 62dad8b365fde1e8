// onnx-proto's .d.ts names the global `Long` (protobufjs's int64) without importing it; this pulls in
// @types/long (a dependency of protobufjs) so a consumer type-checks without skipLibCheck.
/// <reference types="long" preserve="true" />
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;

/** ONNX attribute values, tagged so an integer 1 and a float 1.0 cannot be confused. */
export type Attr =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string };

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  ints: (value: readonly number[]): Attr => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): Attr => ({ kind: 'floats', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
};

export type ElemType = 'float' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
/** A dimension: fixed size, or a symbolic name for dynamic axes ("batch", "sequence"). */
export type Dim = number | string;

const ELEM: Record<ElemType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  int8: onnx.TensorProto.DataType.INT8,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

type InitData = Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

function elemOf(data: InitData): ElemType {
  if (data instanceof Float32Array) return 'float';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int8Array) return 'int8';
  return 'uint8';
}

function toAttrProto(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    default: {
      const never: never = a;
      throw new Error(`unknown attribute kind ${JSON.stringify(never)}`);
    }
  }
}

function valueInfo(name: string, elem: ElemType, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[elem],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface NodeOptions {
  /** Number of outputs (default 1) or their exact names. */
  outputs?: number | readonly string[];
  domain?: string;
  /** A readable prefix for generated names. */
  name?: string;
}

/**
 * Builds one ONNX graph. Names are made unique by the builder, so composing several sub-graphs
 * (two encoders and a fusion head) never collides. Initialisers are kept as typed arrays until
 * `toModel`, so weights can be shared or transformed (quantised) before serialisation.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inits = new Map<string, { data: InitData; dims: number[] }>();
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly domains = new Set<string>();
  private counter = 0;

  constructor(readonly graphName = 'bertfuse') {}

  /** A fresh name based on `hint`. */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  input(name: string, elem: ElemType, dims: readonly Dim[]): string {
    if (this.used.has(name)) throw new Error(`graph name "${name}" already used`);
    this.used.add(name);
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  /** Declares `value` as a graph output called `name` (an Identity node renames it when needed). */
  output(value: string, name: string, elem: ElemType, dims: readonly Dim[]): string {
    if (value !== name) {
      if (this.used.has(name)) throw new Error(`graph name "${name}" already used`);
      this.used.add(name);
      this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: `out_${name}` });
    }
    this.outputs.push(valueInfo(name, elem, dims));
    return name;
  }

  initializer(hint: string, data: InitData, dims: readonly number[]): string {
    const name = this.fresh(hint);
    let n = 1;
    for (const d of dims) n *= d;
    if (n !== data.length) throw new Error(`initializer ${hint}: ${data.length} values for dims [${dims.join(',')}]`);
    this.inits.set(name, { data, dims: [...dims] });
    return name;
  }

  constFloat(values: readonly number[] | Float32Array, dims: readonly number[] = [values.length], hint = 'c'): string {
    return this.initializer(hint, values instanceof Float32Array ? values : Float32Array.from(values), dims);
  }
  constInt64(values: readonly number[], dims: readonly number[] = [values.length], hint = 'c'): string {
    return this.initializer(hint, BigInt64Array.from(values.map((v) => BigInt(v))), dims);
  }
  scalarFloat(v: number, hint = 'c'): string {
    return this.constFloat([v], [], hint);
  }

  node(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, opts: NodeOptions = {}): string[] {
    const hint = opts.name ?? op.toLowerCase();
    const outs = typeof opts.outputs === 'object' ? opts.outputs.map((o) => (o === '' ? '' : this.fresh(o))) : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(hint));
    if (opts.domain) this.domains.add(opts.domain);
    this.nodes.push({
      opType: op,
      domain: opts.domain ?? '',
      name: this.fresh(`n_${hint}`),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => toAttrProto(k, v)),
    });
    return outs;
  }

  /** Single-output node. */
  op(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, opts: Omit<NodeOptions, 'outputs'> = {}): string {
    return this.node(op, inputs, attrs, opts)[0]!;
  }

  initializerNames(): string[] {
    return [...this.inits.keys()];
  }
  initializerData(name: string): { data: InitData; dims: readonly number[] } | undefined {
    return this.inits.get(name);
  }
  /** Total bytes of initializer data, to decide on external data. */
  weightBytes(): number {
    let n = 0;
    for (const { data } of this.inits.values()) n += data.byteLength;
    return n;
  }
  /** The nodes reading each value, in graph order (empty names of skipped optional inputs left out). */
  readersOf(): Map<string, onnxProto.onnx.INodeProto[]> {
    const readers = new Map<string, onnxProto.onnx.INodeProto[]>();
    for (const node of this.nodes) {
      for (const v of node.input ?? []) {
        if (!v) continue;
        const list = readers.get(v);
        if (list) list.push(node);
        else readers.set(v, [node]);
      }
    }
    return readers;
  }

  /** Nodes, for rewriting passes such as quantisation. */
  mutableNodes(): onnxProto.onnx.INodeProto[] {
    return this.nodes;
  }
  removeInitializer(name: string): void {
    this.inits.delete(name);
  }

  /**
   * Stores byte-identical initializers (same type, shape and bytes) once: nodes that read a copy
   * read the first one instead. For an artifact only, as the last pass before saving — never on a
   * graph whose weights will still change separately (a training graph would tie them). Members
   * that share tensors (a frozen embedding, the same checkpoint twice) then cost their bytes once.
   */
  shareIdenticalInitializers(): { readonly merged: number; readonly bytesSaved: number } {
    const byContent = new Map<string, string>();
    const rename = new Map<string, string>();
    let bytesSaved = 0;
    for (const [name, { data, dims }] of this.inits) {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const key = `${elemOf(data)}|${dims.join(',')}|${createHash('sha256').update(bytes).digest('hex')}`;
      const first = byContent.get(key);
      if (first === undefined) byContent.set(key, name);
      else {
        rename.set(name, first);
        bytesSaved += bytes.byteLength;
      }
    }
    if (rename.size === 0) return { merged: 0, bytesSaved: 0 };
    for (const node of this.nodes) node.input = (node.input ?? []).map((i) => rename.get(i) ?? i);
    for (const name of rename.keys()) this.inits.delete(name);
    return { merged: rename.size, bytesSaved };
  }
  /**
   * Turns an initializer into a float graph input of the same name and shape and returns its
   * data: a training graph is fed its weights each step instead of baking them in.
   */
  promoteToInput(name: string): { data: Float32Array; dims: readonly number[] } {
    const init = this.inits.get(name);
    if (!init || !(init.data instanceof Float32Array)) throw new Error(`no float initializer "${name}"`);
    this.inits.delete(name);
    this.inputs.push(valueInfo(name, 'float', init.dims));
    return { data: init.data, dims: init.dims };
  }

  /**
   * The ModelProto. With `external`, initializers larger than `minBytes` are written through
   * `external.write(bytes) -> offset` and referenced by location/offset/length instead of embedded.
   */
  toModel(opts: {
    opset?: number;
    producer?: string;
    docString?: string;
    external?: { location: string; write: (bytes: Uint8Array) => number; minBytes?: number };
  } = {}): ModelProto {
    const initializer: onnxProto.onnx.ITensorProto[] = [];
    for (const [name, { data, dims }] of this.inits) {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const t: onnxProto.onnx.ITensorProto = { name, dims, dataType: ELEM[elemOf(data)] };
      if (opts.external && bytes.byteLength >= (opts.external.minBytes ?? 1024)) {
        const offset = opts.external.write(bytes);
        t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
        t.externalData = [
          { key: 'location', value: opts.external.location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(bytes.byteLength) },
        ];
      } else {
        t.rawData = bytes;
      }
      initializer.push(t);
    }
    const opsetImport: onnxProto.onnx.IOperatorSetIdProto[] = [{ domain: '', version: opts.opset ?? 17 }];
    for (const d of [...this.domains].sort()) opsetImport.push({ domain: d, version: 1 });
    return onnx.ModelProto.create({
      irVersion: 8,
      producerName: opts.producer ?? 'bertfuse',
      producerVersion: '',
      docString: opts.docString ?? '',
      opsetImport,
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function decodeModel(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes);
}
