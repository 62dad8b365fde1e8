import type { BenchResults } from './report.js';

/** What the numbers mean and what stands in the way of missed targets; filled in from the results. */
export function analysis(r: BenchResults): string {
  const lines: string[] = [];
  lines.push(`Defaults chosen from these measurements: kernels = ${r.variants.default}; fastest measured cell ${r.variants.fastest}.`);
  return lines.join('\n');
}
