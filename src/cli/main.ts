import { Command, CommanderError } from 'commander';
import { setAllowNonFiniteDefault } from '../checkpoint/load.js';
import { cutLine, isBertfuseError } from '../errors.js';
import { VERSION } from '../paths.js';
import { registerCombinedLoader } from '../artifact/read.js';
import { registerMergedLoader } from '../artifact/merged-model.js';
import { register as combine } from './commands/combine.js';
import { register as demo } from './commands/demo.js';
import { register as distill } from './commands/distill.js';
import { register as evaluate } from './commands/eval.js';
import { register as exportCmd } from './commands/export.js';
import { register as inspect } from './commands/inspect.js';
import { register as merge } from './commands/merge.js';
import { register as predict } from './commands/predict.js';
import { register as randomCheckpoint } from './commands/random-checkpoint.js';
import { register as report } from './commands/report.js';
import { register as serve } from './commands/serve.js';

/** The CLI only parses flags and calls the library; every command lives in ./commands. */
export function buildProgram(): Command {
  registerCombinedLoader(); // `predict <folder>` opens combined models
  registerMergedLoader(); // … and points multi-task merges at their task folders
  const program = new Command('bertfuse')
    .description('combine BERT text classifiers into one deployable model')
    .version(VERSION)
    // Commander's own errors (unknown option, bad flag value) follow our one-line format too.
    .configureOutput({ outputError: (str, write) => write(`bertfuse: ${cutLine(str.replace(/^error: /, '').trimEnd())}\n`) })
    // Set before the subcommands are added: they copy these settings when created.
    .exitOverride()
    // Global: NaN/Inf weights are refused wherever weights are read, unless the user says otherwise.
    .option('--allow-nonfinite', 'accept NaN/Infinity weights (refused by default: they poison every output they touch)')
    .hook('preAction', (root) => setAllowNonFiniteDefault(Boolean(root.opts()['allowNonfinite'])));
  for (const register of [demo, combine, distill, evaluate, exportCmd, inspect, merge, predict, randomCheckpoint, report, serve]) register(program);
  return program;
}

const STDOUT_ERRORS: Readonly<Record<string, string>> = { ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EFBIG: 'file too large', EIO: 'input/output error' };

/**
 * For the process entry points only: `bertfuse … | head` closes the pipe early, which is the reader
 * saying "enough", not a crash: exit quietly. Any other failure to write standard output (/dev/full,
 * a full disk) is one line on stderr and exit 1.
 */
export function guardStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    const what = (e.code && STDOUT_ERRORS[e.code]) ?? e.message;
    process.stderr.write(`bertfuse: cannot write to standard output: ${what}${e.code ? ` (${e.code})` : ''}\n`);
    process.exit(1);
  });
  // Nobody reads stderr any more: nothing useful is left to say.
  process.stderr.on('error', () => process.exit(process.exitCode === undefined ? 1 : Number(process.exitCode)));
}

/** User errors print one line and exit 1 (2 for usage); anything else is a bug and keeps its stack. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (isBertfuseError(e)) {
      process.stderr.write(`bertfuse: ${e.message}\n`);
      return e.code === 'E_USAGE' ? 2 : 1;
    }
    throw e;
  }
}
