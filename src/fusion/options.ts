import { BertfuseError } from '../errors.js';
import type { ParamSpec } from './types.js';

export type OptionValue = number | boolean | string;
export type ResolvedOptions = Readonly<Record<string, OptionValue>>;

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * Checks a method's options against its declared specs and fills in defaults. Unknown names,
 * wrong types, values out of range or outside the choices are E_BAD_RECIPE errors naming the
 * method and option. Strings are accepted for numbers and booleans ("0.5", "true") because
 * command-line options arrive as text.
 */
export function resolveOptions(method: string, specs: readonly ParamSpec[], given: Readonly<Record<string, unknown>>): ResolvedOptions {
  const known = new Map(specs.map((s) => [s.name, s]));
  for (const key of Object.keys(given)) {
    if (!known.has(key)) {
      const list = specs.length === 0 ? 'it takes no options' : `options: ${specs.map((s) => s.name).join(', ')}`;
      throw new BertfuseError('E_BAD_RECIPE', `fusion method "${method}": unknown option "${key}" (${list})`);
    }
  }
  const out: Record<string, OptionValue> = {};
  for (const s of specs) {
    const v = given[s.name];
    out[s.name] = v === undefined ? s.default : coerce(method, s, v);
  }
  return out;
}

function coerce(method: string, s: ParamSpec, v: unknown): OptionValue {
  const bad = (why: string): BertfuseError => new BertfuseError('E_BAD_RECIPE', `fusion method "${method}": option "${s.name}" ${why}, got ${JSON.stringify(v)}`);
  switch (s.type) {
    case 'number': {
      const x = typeof v === 'number' ? v : typeof v === 'string' && NUMBER.test(v.trim()) ? Number(v) : NaN;
      if (!Number.isFinite(x)) throw bad('must be a number');
      if (s.integer && !Number.isInteger(x)) throw bad('must be a whole number');
      if (s.min !== undefined && x < s.min) throw bad(`must be ≥ ${s.min}`);
      if (s.max !== undefined && x > s.max) throw bad(`must be ≤ ${s.max}`);
      return x;
    }
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      throw bad('must be true or false');
    case 'string':
      if (typeof v !== 'string') throw bad('must be a string');
      if (s.choices && !s.choices.includes(v)) throw bad(`must be one of ${s.choices.join(', ')}`);
      return v;
    default: {
      const never: never = s.type;
      throw new Error(`unknown option type ${String(never)}`);
    }
  }
}

/** Typed reads of resolved options (the spec guarantees the type; this keeps casts in one place). */
export const option = {
  number(o: ResolvedOptions, name: string): number {
    const v = o[name];
    if (typeof v !== 'number') throw new Error(`option ${name} is not a number`);
    return v;
  },
  boolean(o: ResolvedOptions, name: string): boolean {
    const v = o[name];
    if (typeof v !== 'boolean') throw new Error(`option ${name} is not a boolean`);
    return v;
  },
  choice<T extends string>(o: ResolvedOptions, name: string, choices: readonly T[]): T {
    const v = o[name];
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw new Error(`option ${name} is not one of ${choices.join(', ')}`);
    return v as T;
  },
};
