import { guardStdout, main } from './main.js';

// Entry for running the CLI from source (`node --import tsx src/cli/run.ts ...`), as the tests do.
guardStdout();
process.exitCode = await main(process.argv);
