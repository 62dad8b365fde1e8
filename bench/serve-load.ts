// Bounded HTTP load test of `bertfuse serve` on loopback, next to the offline batch throughput of
// the same model. Writes the `## Server` section of BENCHMARKS.md (and nothing else in it).
//
//   node --import tsx bench/serve-load.ts [model folder] [--no-write]
//
// Bounds: every scenario sends a fixed number of requests and is stopped after a fixed time,
// whichever comes first; the server listens on 127.0.0.1 only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { progressBar } from '../src/cli/progress.js';
import { loadClassifier, type Classifier } from '../src/runtime/classifier.js';
import { createServer } from '../src/serve/server.js';
import { replaceMarkdownSection } from './markdown-section.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';

export interface Scenario {
  readonly name: string;
  readonly textsPerRequest: number;
  readonly connections: number;
  /** Requests to send (the run ends when all are answered)... */
  readonly requests: number;
  /** ...or after this many seconds, whichever comes first. */
  readonly maxSeconds: number;
}

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly completed: number;
  readonly failed: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly textsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Mean inputs per model run, from the server's own metrics. */
  readonly meanBatch: number;
}

export interface ServeBenchResult {
  readonly model: string;
  readonly offlineTextsPerSecond: number;
  readonly offlineBatchSize: number;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly scenarios: readonly ScenarioResult[];
  /** 1-minute load average when the run started: the machine may be shared. */
  readonly loadAverage: number;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: '1 text / request, 16 connections', textsPerRequest: 1, connections: 16, requests: 3000, maxSeconds: 30 },
  { name: '8 texts / request, 8 connections', textsPerRequest: 8, connections: 8, requests: 600, maxSeconds: 30 },
];

function sst2Texts(n: number): string[] {
  const lines = fs.readFileSync(path.join(ROOT, 'data', 'sst2_dev.tsv'), 'utf8').split('\n').slice(1).filter((l) => l.includes('\t'));
  return lines.slice(0, n).map((l) => l.split('\t')[1]!);
}

async function offlineThroughput(model: Classifier, texts: readonly string[], batchSize: number): Promise<number> {
  const inputs = texts.map((text) => ({ text }));
  await model.predictProba(inputs.slice(0, batchSize * 2), { batchSize }); // warm-up
  const rates: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    await model.predictProba(inputs, { batchSize });
    rates.push(inputs.length / ((performance.now() - t0) / 1000));
  }
  return rates.sort((a, b) => a - b)[1]!; // median of 3
}

function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function runScenario(url: string, s: Scenario, texts: readonly string[]): Promise<ScenarioResult> {
  const before = await (await fetch(`${url}/metrics`)).text();
  const bodies = Array.from({ length: 32 }, (_, i) => JSON.stringify({ texts: Array.from({ length: s.textsPerRequest }, (_, j) => texts[(i * s.textsPerRequest + j) % texts.length]) }));
  const bar = progressBar(s.name);
  let answered = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/v1/predict`,
        connections: s.connections,
        amount: s.requests,
        timeout: 10,
        requests: bodies.map((body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body })),
      },
      (err, res) => {
        clearTimeout(cap);
        bar.stop();
        if (err) reject(err);
        else resolve(res);
      },
    );
    const cap = setTimeout(() => instance.stop(), s.maxSeconds * 1000);
    instance.on('response', () => bar.update(++answered, s.requests));
  });
  const after = await (await fetch(`${url}/metrics`)).text();
  const runs = metricValue(after, 'bertfuse_batch_size_count') - (metricValue(before, 'bertfuse_batch_size_count') || 0);
  const rows = metricValue(after, 'bertfuse_batch_size_sum') - (metricValue(before, 'bertfuse_batch_size_sum') || 0);
  const completed = result['2xx'];
  return {
    scenario: s,
    completed,
    failed: result.non2xx + result.errors,
    seconds: result.duration,
    requestsPerSecond: completed / result.duration,
    textsPerSecond: (completed * s.textsPerRequest) / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    meanBatch: rows / runs,
  };
}

export async function runServeBench(modelDir = path.join(ROOT, 'fixtures', 'sst2-sibling-a'), opts: { maxBatch?: number; maxWaitMs?: number } = {}): Promise<ServeBenchResult> {
  const maxBatch = opts.maxBatch ?? 32;
  const maxWaitMs = opts.maxWaitMs ?? 5;
  const texts = sst2Texts(512);
  const loadAverage = os.loadavg()[0]!;
  const model = await loadClassifier(modelDir);
  try {
    const offline = await offlineThroughput(model, texts, maxBatch);
    const app = createServer(model, { maxBatch, maxWaitMs, maxTexts: 64 });
    const url = await app.listen({ host: HOST, port: 0 });
    if (!new URL(url).hostname.startsWith('127.')) throw new Error(`refusing to load-test a non-loopback address ${url}`);
    try {
      const scenarios: ScenarioResult[] = [];
      for (const s of SCENARIOS) scenarios.push(await runScenario(url, s, texts));
      return { model: path.basename(modelDir), offlineTextsPerSecond: offline, offlineBatchSize: maxBatch, maxBatch, maxWaitMs, scenarios, loadAverage };
    } finally {
      await app.close();
    }
  } finally {
    await model.close();
  }
}

export function serverSection(r: ServeBenchResult): string {
  const f0 = (x: number): string => x.toFixed(0);
  const f1 = (x: number): string => x.toFixed(1);
  const rows = r.scenarios.map((s) => `| ${s.scenario.name} | ${s.completed} / ${s.scenario.requests}${s.failed ? ` (${s.failed} failed)` : ''} | ${f1(s.seconds)} | ${f0(s.requestsPerSecond)} | ${f0(s.textsPerSecond)} | ${f1(s.p50Ms)} | ${f1(s.p99Ms)} | ${f1(s.meanBatch)} |`);
  return [
    '## Server',
    '',
    `\`bertfuse serve\` (\`createServer\`) on 127.0.0.1, model \`${r.model}\`, micro-batching max batch ${r.maxBatch}, max wait ${r.maxWaitMs} ms;`,
    `load from autocannon in the same process (bounded: fixed request count, stopped after 30 s at most).`,
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, onnxruntime default threads; 1-minute load average at the start ${r.loadAverage.toFixed(1)} (other work on the machine slows every number here).`,
    `Reproduce: \`node --import tsx bench/serve-load.ts\`.`,
    '',
    `Offline batch throughput of the same model (\`predictProba\`, 512 SST-2 dev sentences, batch ${r.offlineBatchSize}, median of 3): **${f0(r.offlineTextsPerSecond)} texts/s**.`,
    '',
    '| scenario | requests answered | seconds | requests/s | texts/s | p50 ms | p99 ms | mean inputs per model run |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Replaces (or appends) the `## Server` section, leaving every other section as it is. */
export function writeServerSection(file: string, section: string): void {
  replaceMarkdownSection(file, 'Server', section);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const modelArg = args.find((a) => !a.startsWith('--'));
  const result = await runServeBench(modelArg ? path.resolve(modelArg) : undefined);
  const section = serverSection(result);
  process.stdout.write(section + '\n');
  if (!args.includes('--no-write')) writeServerSection(path.join(ROOT, 'BENCHMARKS.md'), section);
}
