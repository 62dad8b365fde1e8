import { SUPPORTED_ACTIVATIONS, type Activation } from '../checkpoint/config.js';
import { BertfuseError } from '../errors.js';

/**
 * Typed reads of config.json fields with Hugging Face's defaults: a wrong type is one clear line
 * naming the file and the field, never a NaN that surfaces as garbage logits later.
 */
export type RawConfig = Readonly<Record<string, unknown>>;

export function numberField(r: RawConfig, key: string, file: string, fallback: number, check: (v: number) => boolean = (v) => v > 0, what = 'a positive number'): number {
  const v = r[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new BertfuseError('E_BAD_CONFIG', `field "${key}" must be ${what}, got ${JSON.stringify(v)}`, file);
  return v;
}

export function integerField(r: RawConfig, key: string, file: string, fallback: number, min: number): number {
  return numberField(r, key, file, fallback, (v) => Number.isSafeInteger(v) && v >= min, `an integer >= ${min}`);
}

export function boolField(r: RawConfig, key: string, file: string, fallback: boolean): boolean {
  const v = r[key] ?? fallback;
  if (typeof v !== 'boolean') throw new BertfuseError('E_BAD_CONFIG', `field "${key}" must be true or false, got ${JSON.stringify(v)}`, file);
  return v;
}

export function choiceField<T extends string>(r: RawConfig, key: string, file: string, fallback: T, choices: readonly T[]): T {
  const v = r[key] ?? fallback;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new BertfuseError('E_BAD_CONFIG', `field "${key}" is ${JSON.stringify(v)}; supported: ${choices.join(', ')}`, file);
  }
  return v as T;
}

export function activationField(r: RawConfig, key: string, file: string, fallback: Activation): Activation {
  return choiceField(r, key, file, fallback, SUPPORTED_ACTIVATIONS);
}

/** `architectures[0]` must be one of `supported` (absent: the first, the family's classifier). */
export function architectureField<T extends string>(r: RawConfig, file: string, supported: readonly T[]): T {
  const archs = r['architectures'];
  if (archs === undefined) return supported[0]!;
  if (!Array.isArray(archs) || typeof archs[0] !== 'string') throw new BertfuseError('E_BAD_CONFIG', '"architectures" must be a list of names', file);
  const a = archs[0];
  if (!(supported as readonly string[]).includes(a)) throw new BertfuseError('E_UNSUPPORTED_ARCH', `architecture "${a}" is not supported (supported: ${supported.join(', ')})`, file);
  return a as T;
}
