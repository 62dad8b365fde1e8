/**
 * Labels, member names, task names, tokens and option names are data, not object keys: a label
 * called "__proto__" must not set a prototype, and a lookup of "constructor" or "toString" must not
 * find Object.prototype's. Records keyed by such names are built here (own data properties only)
 * and read with `own` (own properties only); anything keyed by them internally is a Map.
 */

/** A record from entries, each an own enumerable property, "__proto__" included. */
export function recordOf<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  return Object.fromEntries(entries) as Record<string, V>;
}

/** Adds or replaces one own property (plain `r[key] = v` would set the prototype for "__proto__"). */
export function setOwn<V>(r: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(r, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The value stored under `key`, never one inherited from Object.prototype. */
export function own<V>(r: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(r, key) ? r[key] : undefined;
}
