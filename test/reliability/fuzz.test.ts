import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { FuzzJob, FuzzMessage, PropertyName } from './fuzz-worker.js';
import { knownIssue } from './known-issues.js';

/** Fixed seed: the same inputs on every run, so a failure reproduces. */
const SEED = 20240607;
/** Any single input taking longer than this counts as a hang. */
const HANG_MS = 15_000;

/** Runs one property in a worker; a stuck input is reported by content and the worker terminated. */
function fuzz(job: FuzzJob): Promise<Extract<FuzzMessage, { kind: 'done' }>> {
  return new Promise((resolve, reject) => {
    // Worker threads do not inherit tsx's loader hooks: register them in the worker, then load the fuzzer.
    const entry = new URL('./fuzz-worker.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
    const worker = new Worker(boot, { eval: true, workerData: job });
    let last = '(none yet)';
    let timer = setTimeout(() => hang(), HANG_MS);
    const hang = (): void => {
      void worker.terminate();
      reject(new Error(`${job.property}: one input ran for over ${HANG_MS} ms (hang): ${last}`));
    };
    worker.on('message', (m: FuzzMessage) => {
      clearTimeout(timer);
      if (m.kind === 'input') {
        last = `run ${m.run}: ${m.summary}`;
        timer = setTimeout(() => hang(), HANG_MS);
      } else {
        void worker.terminate();
        resolve(m);
      }
    });
    worker.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const PROPERTIES: readonly { name: PropertyName; runs: number; what: string }[] = [
  { name: 'safetensors-mutations', runs: 400, what: 'byte flips and truncations of a valid file' },
  { name: 'safetensors-headers', runs: 400, what: 'arbitrary headers (dtypes, shapes, offsets, lying lengths)' },
  { name: 'safetensors-bytes', runs: 200, what: 'arbitrary bytes' },
  { name: 'pickle-mutations', runs: 300, what: 'byte flips and truncations of a small state-dict pickle' },
  { name: 'pickle-fixture-mutations', runs: 60, what: "byte flips of the fixture's real torch.save pickle" },
  { name: 'pickle-opcodes', runs: 400, what: 'random streams of well-formed pickle opcodes' },
  { name: 'pickle-zip-mutations', runs: 300, what: 'byte flips and truncations of the zip container' },
  { name: 'data-files', runs: 300, what: 'data-like text and arbitrary bytes as TSV, CSV, JSONL and plain text (labelled and unlabelled readers)' },
  { name: 'config-json', runs: 300, what: 'config.json with arbitrary field values and arbitrary JSON' },
];

describe('fuzz: the readers only ever throw BertfuseError (fast-check, fixed seed, bounded)', () => {
  for (const p of PROPERTIES) {
    const name = `${p.name}: ${p.what}`;
    test(name, { ...knownIssue(name), timeout: 120_000 }, async () => {
      const r = await fuzz({ property: p.name, seed: SEED, numRuns: p.runs, timeLimitMs: 20_000 });
      assert.ok(!r.failed, r.report);
      if (process.env['BERTFUSE_FUZZ_VERBOSE']) console.log(p.name, r.runs, JSON.stringify(r.outcomes), r.slowestMs.toFixed(1));
      // Bounded, but not vacuous: most runs happened, and inputs were both accepted and refused.
      assert.ok(r.runs >= Math.min(p.runs, 50), `only ${r.runs} runs`);
      const refused = Object.entries(r.outcomes).filter(([k]) => k !== 'opened').reduce((s, [, n]) => s + n, 0);
      assert.ok(refused > 0, `no input was refused: ${JSON.stringify(r.outcomes)}`);
      assert.ok(r.slowestMs < HANG_MS, `slowest input ${r.slowestMs} ms: ${r.slowest}`);
    });
  }
});
