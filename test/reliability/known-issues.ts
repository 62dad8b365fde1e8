/**
 * Cases that fail because of code owned by another part of the project, reported in
 * test/reliability/FINDINGS.md. Listed here so the test still runs and reports (as `todo`) instead of
 * failing everyone's `npm test`; remove an entry as soon as its owner fixes it (the test then
 * passes as a plain test again). `scripts/reliability-table.ts` counts these separately.
 */
const KNOWN: Readonly<Record<string, string>> = {
  'a list of 200,000 items appended at once (APPENDS)': 'FINDINGS.md P4: src/checkpoint/pickle/unpickler.ts APPENDS/ADDITEMS push(...items) overflows the stack (RangeError)',
  'large: merge texts file of 300,000 lines': 'FINDINGS.md M2: src/merge/texts.ts out.push(...texts) overflows the stack for files over ~120k lines (RangeError)',
  'combine recipe: unknown fusion method': 'FINDINGS.md R1: combine recipe method is checked in chooseMethods() as E_USAGE without naming the recipe file',
  'combine recipe: option of the wrong type': 'FINDINGS.md R1: fusion option errors (src/fusion/options.ts) do not name the recipe file',
  'combine recipe: option out of range': 'FINDINGS.md R1: fusion option errors (src/fusion/options.ts) do not name the recipe file',
  'combine recipe: option the method does not take': 'FINDINGS.md R1: fusion option errors (src/fusion/options.ts) do not name the recipe file',
};

export function knownIssue(caseName: string): { todo?: string } {
  const why = KNOWN[caseName];
  return why ? { todo: why } : {};
}
