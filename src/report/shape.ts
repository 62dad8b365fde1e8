import { BertfuseError } from '../errors.js';

/**
 * Checks on untrusted JSON that fail as one line naming the file and the JSON path
 * (e.g. `rows[3].confusion[1]: expected 2 numbers`), instead of a TypeError deep in the renderer.
 */
export class Shape {
  constructor(readonly file: string) {}

  fail(where: string, what: string): never {
    throw new BertfuseError('E_BAD_INPUT', `${where}: ${what}`, this.file);
  }

  obj(v: unknown, where: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(where, 'expected an object');
    return v as Record<string, unknown>;
  }

  arr(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) this.fail(where, 'expected a list');
    return v;
  }

  str(v: unknown, where: string): string {
    if (typeof v !== 'string') this.fail(where, 'expected a string');
    return v;
  }

  num(v: unknown, where: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(where, 'expected a finite number');
    return v;
  }

  /** A metric that may be undefined for the data (written as null). */
  numOrNull(v: unknown, where: string): number | null {
    return v === null ? null : this.num(v, where);
  }

  count(v: unknown, where: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(where, 'expected a non-negative integer');
    return v;
  }

  /** A number in [0, 1] (a rate or a probability). */
  unit(v: unknown, where: string): number {
    const x = this.num(v, where);
    if (x < 0 || x > 1) this.fail(where, `${x} is outside [0, 1]`);
    return x;
  }

  unitOrNull(v: unknown, where: string): number | null {
    return v === null ? null : this.unit(v, where);
  }

  /** A list of exactly `k` probabilities. */
  probs(v: unknown, k: number, where: string): number[] {
    const a = this.arr(v, where);
    if (a.length !== k) this.fail(where, `expected ${k} probabilities, got ${a.length}`);
    return a.map((x, i) => this.unit(x, `${where}[${i}]`));
  }
}
