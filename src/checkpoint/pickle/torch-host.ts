import { BertfuseError } from '../../errors.js';
import type { DType } from '../dtype.js';
import type { PickleHost } from './unpickler.js';
import { HostObject, PyDict, PyGlobal, PyTuple, typeName, type PickleValue } from './values.js';

/*
 * The meaning of the few globals torch.save writes for a state dict. Each allowed global maps to
 * a pure function on pickle data; anything else is refused by name before it could be used.
 *
 * A tensor in torch's pickle is `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
 * backward_hooks[, metadata])`, where `storage` is a persistent id
 * `('storage', torch.FloatStorage, key, location, numel)` naming the zip entry `<root>/data/<key>`.
 */

/** The most elements one tensor may have: typed arrays in V8 stop near 2^32 bytes. */
const MAX_ELEMENTS = 2 ** 30;
/** Weights have at most 4 dimensions; a longer size tuple is not a tensor of a state dict. */
export const MAX_RANK = 8;
/** The most elements a view may have beyond its storage's size (an expanded buffer such as position_ids). */
const MAX_EXPANDED = 2 ** 24;

/** torch's typed storage classes and the element type of their bytes. */
export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const REBUILD_PARAMETER_WITH_STATE = 'torch._utils._rebuild_parameter_with_state';
const REBUILD_FROM_TYPE = 'torch._tensor._rebuild_from_type_v2';
const ORDERED_DICT = 'collections.OrderedDict';
/** Classes that may appear as the `new_type` of `_rebuild_from_type_v2`; plain types, never instantiated. */
const TENSOR_TYPES = new Set(['torch.Tensor', 'torch.nn.parameter.Parameter']);

const CALLABLE = new Set([REBUILD_TENSOR, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE, REBUILD_FROM_TYPE, ORDERED_DICT]);

/** The globals this reader understands, for error messages. */
export const ALLOWED_GLOBALS: readonly string[] = [...CALLABLE, ...TENSOR_TYPES, ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`)];

/** A storage named by a persistent id: one zip entry of `numel` elements. */
export class StorageRef extends HostObject {
  readonly describe = 'storage';
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {
    super();
  }
}

/** A tensor as a strided view into a storage (torch's own model: offset + size + stride, in elements). */
export class TensorView extends HostObject {
  readonly describe = 'tensor';
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {
    super();
  }
}

/**
 * Views that repeat elements (stride 0) may name more elements than their storage holds, but not
 * without bound: reading a tensor materialises every element. Checked once the storages are known
 * to be real, so a lying storage size is reported as such first.
 */
export function checkViewSize(name: string, v: TensorView, file: string): void {
  const elements = v.shape.reduce((a, d) => a * d, 1);
  if (elements > MAX_ELEMENTS || (elements > v.storage.numel && elements > MAX_EXPANDED)) {
    throw new BertfuseError('E_BAD_PICKLE', `tensor "${name}" is a view of ${elements} elements (size [${v.shape}], stride [${v.stride}]) over a ${v.storage.numel}-element storage "${v.storage.key}": too large to be a weight`, file);
  }
}

export class TorchStateDictHost implements PickleHost {
  /** Storages by key, in first-use order; the caller checks them against the archive. */
  readonly storages = new Map<string, StorageRef>();

  constructor(private readonly source: string) {}

  global(module: string, name: string): PyGlobal {
    const q = `${module}.${name}`;
    if (CALLABLE.has(q) || TENSOR_TYPES.has(q)) return new PyGlobal(module, name);
    if (module === 'torch' && name.endsWith('Storage')) {
      if (name in STORAGE_DTYPES) return new PyGlobal(module, name);
      throw new BertfuseError('E_BAD_DTYPE', `storage type ${q} is not supported (supported: ${Object.keys(STORAGE_DTYPES).join(', ')})`, this.source);
    }
    throw new BertfuseError(
      'E_UNSAFE_PICKLE',
      `refusing to load: the pickle references ${q}, which is not one of the globals torch uses to rebuild tensors (nothing was executed; allowed: ${ALLOWED_GLOBALS.slice(0, 5).join(', ')}, torch.*Storage)`,
      this.source,
    );
  }

  call(fn: PyGlobal, args: readonly PickleValue[]): PickleValue {
    switch (fn.qualified) {
      case ORDERED_DICT:
        return this.orderedDict(args);
      case REBUILD_TENSOR:
        return this.rebuildTensor(args);
      case REBUILD_PARAMETER:
      case REBUILD_PARAMETER_WITH_STATE:
        // (data, requires_grad, backward_hooks[, state]): a Parameter is its data for inference.
        if (args.length < 3 || !(args[0] instanceof TensorView)) throw this.bad(`${fn.qualified} expects (tensor, requires_grad, hooks), got ${describeArgs(args)}`);
        return args[0];
      case REBUILD_FROM_TYPE: {
        // (func, new_type, args, state): a tensor subclass rebuilt by func(*args), then retyped.
        const [func, newType, inner] = args;
        if (!(func instanceof PyGlobal) || !(newType instanceof PyGlobal) || !(inner instanceof PyTuple)) throw this.bad(`${REBUILD_FROM_TYPE} expects (function, type, args, state), got ${describeArgs(args)}`);
        if (!TENSOR_TYPES.has(newType.qualified)) throw this.bad(`${REBUILD_FROM_TYPE} to type ${newType.qualified} is not supported`);
        if (!CALLABLE.has(func.qualified) || func.qualified === REBUILD_FROM_TYPE) throw this.bad(`${REBUILD_FROM_TYPE} with function ${func.qualified} is not supported`);
        return this.call(func, inner.items);
      }
      default:
        throw this.bad(`${fn.qualified} is a type, not a function that can be called here`);
    }
  }

  newObject(cls: PyGlobal, args: readonly PickleValue[]): PickleValue {
    if (cls.qualified === ORDERED_DICT && args.length === 0) return new PyDict();
    throw this.bad(`creating ${cls.qualified} objects is not supported`);
  }

  build(obj: PickleValue, state: PickleValue): PickleValue {
    // torch's state_dict is an OrderedDict with a `_metadata` attribute, restored through BUILD.
    if (obj instanceof PyDict) {
      const dictState = state instanceof PyTuple ? state.items[0] ?? null : state;
      if (dictState instanceof PyDict) {
        for (const [k, v] of dictState.entries) if (typeof k === 'string') obj.attributes.set(k, v);
      } else if (dictState !== null) {
        throw this.bad(`cannot set a ${typeName(dictState)} as the state of a dict`);
      }
      return obj;
    }
    throw this.bad(`setting state on a ${typeName(obj)} is not supported`);
  }

  persistentLoad(pid: PickleValue): PickleValue {
    if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage' || pid.items.length !== 5) {
      throw this.bad(`unsupported persistent id ${describePid(pid)} (expected ('storage', type, key, location, numel))`);
    }
    const [, type, key, , numel] = pid.items;
    if (!(type instanceof PyGlobal) || !(type.name in STORAGE_DTYPES)) throw this.bad(`persistent id names a ${typeName(type ?? null)}, not a storage type`);
    if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) throw this.bad(`storage key ${JSON.stringify(key)} is not a plain name`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw this.bad(`storage "${key}" has an invalid size ${String(numel)}`);
    const dtype = STORAGE_DTYPES[type.name]!;
    const seen = this.storages.get(key);
    if (seen) {
      if (seen.dtype !== dtype || seen.numel !== numel) throw this.bad(`storage "${key}" is used as both ${seen.dtype}[${seen.numel}] and ${dtype}[${numel}]`);
      return seen;
    }
    const ref = new StorageRef(key, dtype, numel);
    this.storages.set(key, ref);
    return ref;
  }

  private orderedDict(args: readonly PickleValue[]): PyDict {
    const d = new PyDict();
    if (args.length === 0) return d;
    throw this.bad(`${ORDERED_DICT} with arguments is not supported (${describeArgs(args)})`);
  }

  private rebuildTensor(args: readonly PickleValue[]): TensorView {
    const [storage, offset, size, stride] = args;
    if (args.length < 6 || args.length > 7) throw this.bad(`${REBUILD_TENSOR} expects 6 or 7 arguments, got ${args.length}`);
    if (!(storage instanceof StorageRef)) throw this.bad(`${REBUILD_TENSOR}: first argument is a ${typeName(storage ?? null)}, not a storage`);
    const off = this.count(offset ?? null, 'storage offset');
    const shape = this.ints(size ?? null, 'size');
    const strides = this.ints(stride ?? null, 'stride');
    if (shape.length !== strides.length) throw this.bad(`tensor size has ${shape.length} dims but stride has ${strides.length}`);
    // The furthest element the view touches must lie inside the storage.
    if (shape.every((d) => d > 0)) {
      let last = off;
      shape.forEach((d, i) => (last += (d - 1) * strides[i]!));
      if (last >= storage.numel) throw this.bad(`tensor view (offset ${off}, size [${shape}], stride [${strides}]) reaches element ${last} of a ${storage.numel}-element storage "${storage.key}"`);
    }
    return new TensorView(storage, off, shape, strides);
  }

  private ints(v: PickleValue, what: string): number[] {
    if (!(v instanceof PyTuple)) throw this.bad(`tensor ${what} is a ${typeName(v)}, not a tuple`);
    if (v.items.length > MAX_RANK) throw this.bad(`tensor ${what} has ${v.items.length} dimensions (at most ${MAX_RANK})`);
    return v.items.map((x) => this.count(x, what));
  }
  private count(v: PickleValue, what: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw this.bad(`tensor ${what} ${String(v)} is not a non-negative integer`);
    return v;
  }
  private bad(msg: string): BertfuseError {
    return new BertfuseError('E_BAD_PICKLE', msg, this.source);
  }
}

/** Error text names at most a few arguments, each cut short: the values come from the file. */
function describeArgs(args: readonly PickleValue[]): string {
  return `(${args.slice(0, 8).map(typeName).join(', ')}${args.length > 8 ? ', …' : ''})`;
}
function describePid(pid: PickleValue): string {
  return pid instanceof PyTuple ? `(${pid.items.slice(0, 6).map((x) => (typeof x === 'string' ? JSON.stringify(x.slice(0, 40)) : typeName(x))).join(', ')}${pid.items.length > 6 ? ', …' : ''})` : typeName(pid);
}
