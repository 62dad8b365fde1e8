/**
 * Cases that fail because of code owned by another part of the project, reported in
 * test/reliability/FINDINGS.md. Listed here so the test still runs and reports (as `todo`) instead of
 * failing everyone's `npm test`; remove an entry as soon as its owner fixes it (the test then
 * passes as a plain test again). `scripts/reliability-table.ts` counts these separately.
 */
const KNOWN: Readonly<Record<string, string>> = {
};

export function knownIssue(caseName: string): { todo?: string } {
  const why = KNOWN[caseName];
  return why ? { todo: why } : {};
}
