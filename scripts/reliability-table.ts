/**
 * Runs the reliability suite (test/reliability/*.test.ts) and writes its case table into
 * RELIABILITY.md between the `<!-- reliability-table -->` markers: one row per family (a top-level
 * `describe`), with the number of cases, how many pass, how many run as `todo` (a known issue in
 * another part of the project, see test/reliability/FINDINGS.md) and how many fail, then every
 * case by name. The counts come from the run itself, so the document cannot drift from the suite.
 *
 *   node --import tsx scripts/reliability-table.ts           # run, rewrite the table
 *   node --import tsx scripts/reliability-table.ts --check   # run, fail if the table is out of date
 *
 * Exits non-zero when a case fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DOC = path.join(ROOT, 'RELIABILITY.md');
const BEGIN = '<!-- reliability-table:begin -->';
const END = '<!-- reliability-table:end -->';

interface Case {
  readonly name: string;
  readonly outcome: 'pass' | 'todo' | 'fail';
  readonly todo: string | null;
}

interface Family {
  readonly name: string;
  readonly file: string;
  readonly cases: Case[];
}

interface TestEventData {
  readonly name: string;
  readonly nesting: number;
  readonly file?: string;
  readonly todo?: string | boolean;
  readonly skip?: string | boolean;
  readonly details?: { readonly type?: string };
}

async function runSuite(files: readonly string[]): Promise<{ families: Family[]; seconds: number }> {
  const t0 = Date.now();
  const families = new Map<string, Family>();
  const stacks = new Map<string, string[]>();
  for await (const ev of run({ files: [...files], concurrency: 2 })) {
    if (typeof ev !== 'object' || ev === null || !('type' in ev)) continue;
    const { type } = ev as { type: string };
    const data = (ev as { data: TestEventData }).data;
    if (!data || typeof data.nesting !== 'number') continue;
    const file = data.file ?? '?';
    if (type === 'test:start') {
      const stack = stacks.get(file) ?? [];
      stack[data.nesting] = data.name;
      stack.length = data.nesting + 1;
      stacks.set(file, stack);
      continue;
    }
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    if (data.details?.type === 'suite' || data.name === file || data.skip) continue;
    const familyName = data.nesting === 0 ? path.basename(file, '.test.ts') : stacks.get(file)?.[data.nesting - 1] ?? path.basename(file);
    const key = `${file}\u0000${familyName}`;
    let fam = families.get(key);
    if (!fam) {
      fam = { name: familyName, file: path.relative(ROOT, file), cases: [] };
      families.set(key, fam);
    }
    const todo = typeof data.todo === 'string' ? data.todo : data.todo ? 'todo' : null;
    if (todo !== null && type === 'test:pass') {
      // A known issue whose test now passes: its owner fixed it. Count it as a pass and say so.
      process.stderr.write(`note: "${data.name}" is marked todo (${todo}) but passes: remove it from test/reliability/known-issues.ts\n`);
      fam.cases.push({ name: data.name, outcome: 'pass', todo: null });
      continue;
    }
    fam.cases.push({ name: data.name, outcome: todo !== null ? 'todo' : type === 'test:pass' ? 'pass' : 'fail', todo });
  }
  const sorted = [...families.values()].sort((a, b) => a.file.localeCompare(b.file) || a.name.localeCompare(b.name));
  return { families: sorted, seconds: (Date.now() - t0) / 1000 };
}

function count(cases: readonly Case[], outcome: Case['outcome']): number {
  return cases.filter((c) => c.outcome === outcome).length;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function render(families: readonly Family[]): string {
  const all = families.flatMap((f) => f.cases);
  const lines = [
    BEGIN,
    '',
    '| family | file | cases | pass | todo (known issue) | fail |',
    '|---|---|---:|---:|---:|---:|',
    ...families.map((f) => `| ${escapeCell(f.name)} | \`${f.file}\` | ${f.cases.length} | ${count(f.cases, 'pass')} | ${count(f.cases, 'todo')} | ${count(f.cases, 'fail')} |`),
    `| **total** | | **${all.length}** | **${count(all, 'pass')}** | **${count(all, 'todo')}** | **${count(all, 'fail')}** |`,
    '',
    'Every case, by family (✓ passes, ◌ todo: runs and reports, tracked in `test/reliability/FINDINGS.md`, ✗ fails):',
    '',
  ];
  for (const f of families) {
    lines.push(`<details><summary>${f.name} (${f.cases.length})</summary>`, '');
    for (const c of f.cases) lines.push(`- ${c.outcome === 'pass' ? '✓' : c.outcome === 'todo' ? `◌` : '✗'} ${c.name}${c.todo ? ` — ${c.todo}` : ''}`);
    lines.push('', '</details>', '');
  }
  lines.push(END);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const dir = path.join(ROOT, 'test', 'reliability');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join(dir, f));
  const { families, seconds } = await runSuite(files);
  const table = render(families);
  const doc = fs.readFileSync(DOC, 'utf8');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC} has no ${BEGIN} ... ${END} markers`);
  const updated = doc.slice(0, start) + table + doc.slice(end + END.length);
  const all = families.flatMap((f) => f.cases);
  const failed = count(all, 'fail');
  process.stdout.write(`${all.length} cases in ${families.length} families: ${count(all, 'pass')} pass, ${count(all, 'todo')} todo, ${failed} fail (${seconds.toFixed(0)} s)\n`);
  if (check) {
    if (updated !== doc) {
      process.stderr.write('RELIABILITY.md is out of date: run node --import tsx scripts/reliability-table.ts\n');
      return 1;
    }
  } else if (updated !== doc) {
    fs.writeFileSync(DOC, updated);
    process.stdout.write('RELIABILITY.md updated\n');
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
