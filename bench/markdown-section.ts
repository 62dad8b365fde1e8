import fs from 'node:fs';
import { writeFileAtomic } from '../src/util/atomic.js';

/**
 * Replaces the `## <heading>` section of a Markdown file (up to the next `## `), or appends it,
 * leaving every other section as it is: several benchmark scripts share BENCHMARKS.md.
 */
export function replaceMarkdownSection(file: string, heading: string, section: string): void {
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n\n';
  const lines = old.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  let next: string;
  if (start < 0) next = old.replace(/\n*$/, '\n\n') + section;
  else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end < 0) end = lines.length;
    next = [...lines.slice(0, start), ...section.replace(/\n$/, '').split('\n'), ...(end < lines.length ? ['', ...lines.slice(end)] : [''])].join('\n');
  }
  writeFileAtomic(file, next);
}
