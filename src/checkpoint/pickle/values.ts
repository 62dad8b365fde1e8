/**
 * What the restricted unpickler can produce. Python's scalars map to JS ones (None → null, int →
 * number or bigint when it does not fit a double exactly, str → string, bytes → Uint8Array);
 * containers get small classes so a tuple is never mistaken for a list; a global is only a
 * name (nothing is imported); anything the host builds (a storage, a tensor view) is a HostObject.
 */
export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PyTuple | PyList | PyDict | PyGlobal | HostObject;

export class PyTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

export class PyList {
  readonly items: PickleValue[] = [];
}

/** Dict keys we accept: Python's hashable scalars. */
export type PyKey = null | boolean | number | bigint | string;

export class PyDict {
  readonly entries = new Map<PyKey, PickleValue>();
  /** Instance attributes set by BUILD (torch's state_dict carries `_metadata` this way); kept, never interpreted. */
  readonly attributes = new Map<string, PickleValue>();
}

/** A module-qualified name that passed the host's allowlist. Never imported, only compared. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Base for values the host creates from persistent ids and allowed calls. */
export abstract class HostObject {
  abstract readonly describe: string;
}

export function isKey(v: PickleValue): v is PyKey {
  return v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string';
}

/** A short type name for error messages. */
export function typeName(v: PickleValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyList) return 'list';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyGlobal) return v.qualified;
  return v.describe;
}
