import { Command, CommanderError } from 'commander';
import { isBertfuseError } from '../errors.js';
import { VERSION } from '../paths.js';
import { register as demo } from './commands/demo.js';
import { register as inspect } from './commands/inspect.js';
import { register as predict } from './commands/predict.js';
import { register as randomCheckpoint } from './commands/random-checkpoint.js';

/** The CLI only parses flags and calls the library; every command lives in ./commands. */
export function buildProgram(): Command {
  const program = new Command('bertfuse')
    .description('combine BERT text classifiers into one deployable model')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)');
  for (const register of [demo, inspect, predict, randomCheckpoint]) register(program);
  return program;
}

/** User errors print one line and exit 1 (2 for usage); anything else is a bug and keeps its stack. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (isBertfuseError(e)) {
      process.stderr.write(`bertfuse: ${e.message}\n`);
      return e.code === 'E_USAGE' ? 2 : 1;
    }
    if (e instanceof Error && /must be a positive integer/.test(e.message)) {
      process.stderr.write(`bertfuse: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
