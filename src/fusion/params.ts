import { BertfuseError } from '../errors.js';
import type { FusionParams, MemberOutputs } from './types.js';

/**
 * Readers for fitted parameters. Params may come back from a bertfuse.json, so `apply` and
 * `emit` check their shape against the members instead of trusting them.
 */
export class ParamReader {
  constructor(
    private readonly method: string,
    private readonly params: FusionParams,
  ) {}

  fail(key: string, want: string): never {
    throw new BertfuseError('E_BAD_RECIPE', `fusion method "${this.method}": fitted parameter "${key}" must be ${want}, found ${JSON.stringify(this.params[key])?.slice(0, 80)}`);
  }

  number(key: string, opts: { positive?: boolean } = {}): number {
    const v = this.params[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || (opts.positive && v <= 0)) this.fail(key, opts.positive ? 'a positive number' : 'a number');
    return v;
  }

  numbers(key: string, length: number, opts: { positive?: boolean; nonNegative?: boolean } = {}): number[] {
    const v = this.params[key];
    const ok = Array.isArray(v) && v.length === length && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!opts.positive || x > 0) && (!opts.nonNegative || x >= 0));
    if (!ok) this.fail(key, `an array of ${length} ${opts.positive ? 'positive ' : opts.nonNegative ? 'non-negative ' : ''}numbers`);
    return v as number[];
  }

  /** A [rows][cols] array of numbers, returned row-major. */
  matrix(key: string, rows: number, cols: number): Float64Array {
    const v = this.params[key];
    const ok = Array.isArray(v) && v.length === rows && v.every((r) => Array.isArray(r) && r.length === cols && r.every((x) => typeof x === 'number' && Number.isFinite(x)));
    if (!ok) this.fail(key, `a ${rows}×${cols} array of numbers`);
    return Float64Array.from((v as number[][]).flat());
  }

  choice<T extends string>(key: string, choices: readonly T[]): T {
    const v = this.params[key];
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) this.fail(key, `one of ${choices.join(', ')}`);
    return v as T;
  }
}

/** Shape checks every method does before touching member outputs. */
export function checkOutputs(method: string, outputs: MemberOutputs, minMembers = 1): void {
  if (outputs.members.length < minMembers) {
    throw new BertfuseError('E_BAD_RECIPE', `fusion method "${method}" needs at least ${minMembers} member${minMembers > 1 ? 's' : ''}, got ${outputs.members.length}`);
  }
  if (outputs.k < 2) throw new BertfuseError('E_BAD_RECIPE', `fusion method "${method}": need at least 2 labels, got ${outputs.k}`);
  for (const m of outputs.members) {
    if (m.logits.length !== outputs.n * outputs.k) throw new Error(`member ${m.name}: ${m.logits.length} logits for ${outputs.n} rows × ${outputs.k} labels`);
  }
}

/** `checkOutputs` plus what fitting needs: at least one row, one gold label per row, in range. */
export function checkFit(method: string, outputs: MemberOutputs, labels: ArrayLike<number>, minMembers = 1): void {
  checkOutputs(method, outputs, minMembers);
  if (outputs.n === 0) throw new BertfuseError('E_BAD_DATA', `fusion method "${method}": no rows to fit on`);
  if (labels.length !== outputs.n) throw new Error(`fusion method "${method}": ${labels.length} labels for ${outputs.n} rows`);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= outputs.k) throw new Error(`fusion method "${method}": label ${y} at row ${i} is outside 0..${outputs.k - 1}`);
  }
}

/** Row-major [rows][cols] as nested arrays, for JSON. */
export function toRows(data: ArrayLike<number>, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => data[r * cols + c]!));
}
