import type { Command } from 'commander';
import { DEFAULT_MAX_ROWS } from '../../report/render.js';
import { writeReport } from '../../report/write.js';
import { positiveInt, printJson, printLine } from '../output.js';

interface ReportFlags {
  out: string;
  maxRows: number;
  title?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('one self-contained HTML page: metrics, accuracy vs cost, reliability diagrams, confusion matrices, disagreements')
    .argument('<input>', 'eval result JSON (bertfuse eval --json), or a combined model folder')
    .option('-o, --out <file>', 'HTML file to write', 'report.html')
    .option('--max-rows <n>', 'list at most this many rows where members disagree', positiveInt('--max-rows'), DEFAULT_MAX_ROWS)
    .option('--title <text>', 'page title')
    .option('--json', 'print what was written as JSON')
    .action((input: string, f: ReportFlags) => {
      const w = writeReport(input, f.out, { maxRows: f.maxRows, ...(f.title !== undefined ? { title: f.title } : {}) });
      if (f.json) return printJson(w);
      const what = w.details ? `${w.rows} rows scored, ${w.disagreements} disagreements` : `${w.rows} rows scored, summary metrics only (no per-row details in the input)`;
      printLine(`wrote ${w.out} (${(w.bytes / 1024).toFixed(0)} KiB): ${what}`);
    });
}
