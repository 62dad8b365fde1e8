#!/usr/bin/env node
// Runs the compiled CLI (built by `npm install` / `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('bertfuse: not built yet; run `npm install` (or `npm run build`) in the package folder\n');
  process.exit(1);
}
const { main, guardStdout } = await import(pathToFileURL(entry).href);
guardStdout();
process.exitCode = await main(process.argv);
