import { BertfuseError } from '../errors.js';
import { resolveOptions } from '../fusion/options.js';
import type { FusionMethod } from '../fusion/types.js';
import { findFusionMethod } from '../fusion/registry.js';
import type { MethodChoice } from './evaluate.js';
import { recordOf } from '../util/names.js';

/** `--method` values that mean "every registered method". */
export const ALL_METHODS = ['auto', 'all'] as const;

/**
 * The methods a run tries, with options checked against each method's declared specs (defaults
 * filled in). For one method every option must be one of its own; for all methods an option goes
 * to the methods that declare it and must be declared by at least one.
 */
export function chooseMethods(registry: readonly FusionMethod[], method: string, options: Readonly<Record<string, unknown>>): MethodChoice[] {
  if ((ALL_METHODS as readonly string[]).includes(method)) {
    const declared = new Set(registry.flatMap((m) => m.options.map((o) => o.name)));
    for (const key of Object.keys(options)) {
      if (!declared.has(key)) throw new BertfuseError('E_USAGE', `option "${key}" is not declared by any fusion method (declared: ${[...declared].sort().join(', ')})`);
    }
    return registry.map((m) => {
      const own = Object.fromEntries(Object.entries(options).filter(([k]) => m.options.some((o) => o.name === k)));
      return { method: m, options: resolveOptions(m.name, m.options, own) };
    });
  }
  const m = findFusionMethod(registry, method);
  if (!m) throw new BertfuseError('E_USAGE', `unknown fusion method "${method}" (known: ${registry.map((x) => x.name).join(', ')}, or auto)`);
  return [{ method: m, options: resolveOptions(m.name, m.options, options) }];
}

/** `--param k=v` flags → a map of raw strings (typed later against the method's specs). */
export function parseOptionFlags(flags: readonly string[] | undefined): Record<string, string> {
  const out = new Map<string, string>();
  for (const f of flags ?? []) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new BertfuseError('E_USAGE', `--param "${f}" is not NAME=VALUE`);
    const key = f.slice(0, eq).trim();
    if (out.has(key)) throw new BertfuseError('E_USAGE', `--param ${key} given twice`);
    out.set(key, f.slice(eq + 1).trim());
  }
  return recordOf(out);
}
