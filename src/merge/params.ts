import { BertfuseError } from '../errors.js';
import type { MergeMethod, MergeParamSpec, ParamScalar, ResolvedParams } from './types.js';

/** One entry of a per-tensor parameter list: applies to tensors whose name contains `filter` (null: to all). */
export interface FilteredValue {
  readonly filter: string | null;
  readonly value: ParamScalar;
}

/** A recipe parameter: a scalar for every tensor, or a list of filtered values (first match wins). */
export type ParamValue = ParamScalar | readonly FilteredValue[];
export type ParamMap = Readonly<Record<string, ParamValue>>;

function describe(spec: MergeParamSpec): string {
  return `${spec.name} (${spec.scope === 'model' ? 'per model or global' : 'global'})`;
}

function checkValue(spec: MergeParamSpec, v: ParamScalar, where: string, source: string | undefined): void {
  if (spec.type === 'boolean') {
    if (typeof v !== 'boolean') throw new BertfuseError('E_BAD_RECIPE', `${where}: "${spec.name}" must be true or false, got ${JSON.stringify(v)}`, source);
    return;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BertfuseError('E_BAD_RECIPE', `${where}: "${spec.name}" must be a number, got ${JSON.stringify(v)}`, source);
  if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
    throw new BertfuseError('E_BAD_RECIPE', `${where}: "${spec.name}" = ${v} is outside [${spec.min ?? '-∞'}, ${spec.max ?? '∞'}]`, source);
  }
}

function checkMap(method: MergeMethod, map: ParamMap, allowGlobal: boolean, where: string, source: string | undefined): void {
  for (const [name, value] of Object.entries(map)) {
    const spec = method.params.find((p) => p.name === name);
    if (!spec) {
      const known = method.params.map(describe).join(', ') || 'none';
      throw new BertfuseError('E_BAD_RECIPE', `${where}: ${method.name} has no parameter "${name}" (known: ${known})`, source);
    }
    if (!allowGlobal && spec.scope === 'global') {
      throw new BertfuseError('E_BAD_RECIPE', `${where}: "${name}" is a global parameter of ${method.name}; set it under the top-level "parameters"`, source);
    }
    if (Array.isArray(value)) {
      if (value.length === 0) throw new BertfuseError('E_BAD_RECIPE', `${where}: "${name}" is an empty list`, source);
      for (const entry of value as readonly FilteredValue[]) checkValue(spec, entry.value, where, source);
    } else {
      checkValue(spec, value as ParamScalar, where, source);
    }
  }
}

/** Every parameter must be one the method declares, of the right type and range. */
export function validateParams(method: MergeMethod, global: ParamMap, perModel: readonly ParamMap[], source?: string): void {
  checkMap(method, global, true, 'parameters', source);
  perModel.forEach((m, i) => checkMap(method, m, false, `models[${i}].parameters`, source));
}

/** mergekit's rule: no filter or `"*"` matches every tensor, otherwise a substring of its name. */
export function filterMatches(filter: string | null, tensor: string): boolean {
  return filter === null || filter === '*' || tensor.includes(filter);
}

function pick(value: ParamValue | undefined, tensor: string): ParamScalar | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return value as ParamScalar;
  for (const entry of value as readonly FilteredValue[]) if (filterMatches(entry.filter, tensor)) return entry.value;
  return undefined;
}

/**
 * The parameters in force for one tensor: a model's own value, else the global value, else the
 * method's default; for lists, the first entry whose filter is a substring of the tensor name.
 */
export function resolveParams(method: MergeMethod, global: ParamMap, perModel: readonly ParamMap[], tensor: string): { params: ResolvedParams; modelParams: ResolvedParams[] } {
  const params: Record<string, ParamScalar> = {};
  for (const spec of method.params) if (spec.scope === 'global') params[spec.name] = pick(global[spec.name], tensor) ?? spec.default;
  const modelParams = perModel.map((own) => {
    const p: Record<string, ParamScalar> = {};
    for (const spec of method.params) {
      if (spec.scope === 'model') p[spec.name] = pick(own[spec.name], tensor) ?? pick(global[spec.name], tensor) ?? spec.default;
    }
    return p;
  });
  return { params, modelParams };
}
