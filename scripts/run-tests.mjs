// Runs every test/**/*.test.ts with node's test runner through tsx (Node 20's --test has no globs).
// Usage: node scripts/run-tests.mjs [substring filter...]
//
// src/ is compiled into dist/ first and the tests run the CLI from there (bin/bertfuse.js, as users
// do; test/helpers/cli.ts): the suite starts the CLI ~200 times, and compiled code starts in about
// half the time of tsx; the declaration test reads its .d.ts files. Built here, in the same run,
// dist/ cannot be stale. `tsc -b` rebuilds only what changed: after `npm test`'s type check (which
// builds src/ as a referenced project, then checks test/, bench/ and scripts/ against its
// declarations) this step finds dist/ up to date, so src/ is compiled and checked once, not twice.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? find(p) : name.endsWith('.test.ts') ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const files = find('test').sort().filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const build = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { stdio: 'inherit' });
if (build.status !== 0) {
  console.error('run-tests: building dist/ failed (tsc -b tsconfig.build.json)');
  process.exit(1);
}
const env = { ...process.env, BERTFUSE_TEST_DIST_FRESH: '1' };
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
