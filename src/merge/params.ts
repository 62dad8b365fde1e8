import { BertfuseError } from '../errors.js';
import type { MergeMethod, MergeParamSpec, ParamScalar, ResolvedParams } from './types.js';

/**
 * mergekit's parameter settings: a scalar; a gradient (a list of numbers interpolated over the
 * layer position, mergekit's `[0, 0.5, 1]`); or a list of `{filter, value}` entries, the first
 * whose filter matches the tensor name giving the value (itself a scalar or a gradient).
 */
export type Gradient = readonly number[];

/** One entry of a per-tensor parameter list: applies to tensors whose name contains `filter` (null or "*": to all). */
export interface FilteredValue {
  readonly filter: string | null;
  readonly value: ParamScalar | Gradient;
}

export type ParamValue = ParamScalar | Gradient | readonly FilteredValue[];
export type ParamMap = Readonly<Record<string, ParamValue>>;

function describe(spec: MergeParamSpec): string {
  return `${spec.name} (${spec.scope === 'model' ? 'per model or global' : 'global'})`;
}

function isGradient(v: ParamValue | FilteredValue['value']): boolean {
  return Array.isArray(v) && v.length > 0 && (v as readonly unknown[]).every((x) => typeof x === 'number');
}

function checkValue(spec: MergeParamSpec, v: ParamScalar, where: string, source: string | undefined): void {
  if (spec.type === 'choice') {
    if (!spec.choices!.includes(v)) throw new BertfuseError('E_BAD_RECIPE', `${where}: "${spec.name}" must be one of ${spec.choices!.map(String).join(', ')}, got ${JSON.stringify(v)}`, source);
    return;
  }
  if (spec.type === 'boolean') {
    if (typeof v !== 'boolean') throw new BertfuseError('E_BAD_RECIPE', `${where}: "${spec.name}" must be true or false, got ${JSON.stringify(v)}`, source);
    return;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BertfuseError('E_BAD_RECIPE', `${where}: "${spec.name}" must be a number, got ${JSON.stringify(v)}`, source);
  if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
    throw new BertfuseError('E_BAD_RECIPE', `${where}: "${spec.name}" = ${v} is outside [${spec.min ?? '-∞'}, ${spec.max ?? '∞'}]`, source);
  }
}

function checkSetting(spec: MergeParamSpec, v: ParamScalar | Gradient, where: string, source: string | undefined): void {
  if (!Array.isArray(v)) return checkValue(spec, v as ParamScalar, where, source);
  if (spec.type !== 'number') throw new BertfuseError('E_BAD_RECIPE', `${where}: "${spec.name}" takes one value, not a layer gradient`, source);
  if (v.length === 0) throw new BertfuseError('E_BAD_RECIPE', `${where}: "${spec.name}" is an empty gradient`, source);
  for (const x of v) checkValue(spec, x, where, source);
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
    if (Array.isArray(value) && !isGradient(value as ParamValue)) {
      if ((value as readonly FilteredValue[]).length === 0) throw new BertfuseError('E_BAD_RECIPE', `${where}: "${name}" is an empty list`, source);
      for (const entry of value as readonly FilteredValue[]) checkSetting(spec, entry.value, where, source);
    } else {
      checkSetting(spec, value as ParamScalar | Gradient, where, source);
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

/**
 * A gradient's value at layer position t ∈ [0, 1], as mergekit computes it: the list spans t = 0
 * to 1 in equal steps, linear in between (`[0, 0.5, 1]` at t = 0.25 is 0.25).
 */
export function gradientAt(g: Gradient, t: number): number {
  const scaled = t * (g.length - 1);
  const i0 = Math.floor(scaled);
  const i1 = Math.min(g.length - 1, i0 + 1);
  const frac = scaled - i0;
  return (1 - frac) * g[i0]! + frac * g[i1]!;
}

function evaluate(v: ParamScalar | Gradient, t: number): ParamScalar {
  return Array.isArray(v) ? gradientAt(v, t) : (v as ParamScalar);
}

function pick(value: ParamValue | undefined, tensor: string, t: number): ParamScalar | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || isGradient(value)) return evaluate(value as ParamScalar | Gradient, t);
  for (const entry of value as readonly FilteredValue[]) if (filterMatches(entry.filter, tensor)) return evaluate(entry.value, t);
  return undefined;
}

/**
 * Where a tensor sits for gradients, as mergekit places it: layer i of L has t = i / (L − 1)
 * (t = 1 when L = 1); everything outside the layers (embeddings, pooler, classifier) has t = 0.
 */
export function layerPosition(tensor: string, numLayers: number): number {
  const m = /(?:^|\.)layers?\.(\d+)\./.exec(tensor);
  if (!m) return 0;
  return numLayers > 1 ? Number(m[1]) / (numLayers - 1) : 1;
}

function missing(method: MergeMethod, spec: MergeParamSpec, tensor: string, model: number | null): never {
  const who = model === null ? '' : ` of models[${model}]`;
  throw new BertfuseError('E_BAD_RECIPE', `${method.name} needs "${spec.name}"${who} for tensor "${tensor}" (no value, no matching filter, and no default)`);
}

/**
 * The parameters in force for one tensor at layer position t: a model's own value, else the
 * global value, else the method's default (a required parameter without a value is an error);
 * for lists, the first entry whose filter matches; gradients are evaluated at t.
 */
export function resolveParams(method: MergeMethod, global: ParamMap, perModel: readonly ParamMap[], tensor: string, t = 0): { params: ResolvedParams; modelParams: ResolvedParams[] } {
  const params: Record<string, ParamScalar> = {};
  for (const spec of method.params) {
    if (spec.scope !== 'global') continue;
    const v = pick(global[spec.name], tensor, t) ?? spec.default;
    params[spec.name] = v ?? missing(method, spec, tensor, null);
  }
  const modelParams = perModel.map((own, i) => {
    const p: Record<string, ParamScalar> = {};
    for (const spec of method.params) {
      if (spec.scope !== 'model') continue;
      const v = pick(own[spec.name], tensor, t) ?? pick(global[spec.name], tensor, t) ?? spec.default;
      p[spec.name] = v ?? missing(method, spec, tensor, i);
    }
    return p;
  });
  return { params, modelParams };
}

/** Required parameters (no default) that a recipe does not mention at all, globally or for a model. */
export function unsetRequired(method: MergeMethod, global: ParamMap, perModel: readonly ParamMap[]): string[] {
  const out: string[] = [];
  for (const spec of method.params) {
    if (spec.default !== undefined || global[spec.name] !== undefined) continue;
    if (spec.scope === 'global') out.push(`"${spec.name}" (under parameters)`);
    else perModel.forEach((m, i) => m[spec.name] === undefined && out.push(`"${spec.name}" for models[${i}]`));
  }
  return out;
}
