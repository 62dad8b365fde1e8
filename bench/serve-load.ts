// Bounded HTTP load test of `bertfuse serve` on loopback, next to the offline batch throughput of
// the same model, and /healthz latency while the heaviest in-limit requests run (model in a worker
// thread, as `bertfuse serve` runs it, and in process for comparison). Writes the `## Server`
// section of BENCHMARKS.md (and nothing else in it).
//
//   node --import tsx bench/serve-load.ts [model folder | --base] [--no-write]
//
// --base: a random-weight BERT-base (512 tokens) built in a temp folder instead of the fixture.
//
// Bounds: every scenario sends a fixed number of requests and is stopped after a fixed time,
// whichever comes first; the server listens on 127.0.0.1 only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { progressBar } from '../src/cli/progress.js';
import { BERT_BASE, createRandomCheckpoint } from '../src/checkpoint/random.js';
import { loadClassifier, type Classifier } from '../src/runtime/classifier.js';
import { WorkerClassifier } from '../src/runtime/worker-classifier.js';
import { SERVE_DEFAULTS, createServer } from '../src/serve/server.js';
import { replaceMarkdownSection } from './markdown-section.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';

export interface Scenario {
  readonly name: string;
  /** `/v1/predict` (our JSON) or `/v2/models/{name}/infer` (the Open Inference Protocol). */
  readonly api: 'v1' | 'v2';
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

/** /healthz answered while the heaviest in-limit requests run. */
export interface HealthUnderLoad {
  readonly mode: 'worker thread' | 'in process';
  readonly heavyRequests: number;
  readonly heavySeconds: number;
  readonly probes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The event loop's own delay meanwhile (perf_hooks): how long it was blocked, apart from CPU contention. */
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
}

export interface ServeBenchResult {
  readonly model: string;
  readonly maxLength: number;
  readonly health: readonly HealthUnderLoad[];
  readonly offlineTextsPerSecond: number;
  readonly offlineBatchSize: number;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly scenarios: readonly ScenarioResult[];
  /** 1-minute load average when the run started: the machine may be shared. */
  readonly loadAverage: number;
}

export const SCENARIOS: readonly Scenario[] = (['v1', 'v2'] as const).flatMap((api) => [
  { name: `/${api}: 1 text / request, 16 connections`, api, textsPerRequest: 1, connections: 16, requests: 3000, maxSeconds: 30 },
  { name: `/${api}: 8 texts / request, 8 connections`, api, textsPerRequest: 8, connections: 8, requests: 600, maxSeconds: 30 },
]);

/** One request body of `texts` in the scenario's API. */
function requestBody(api: Scenario['api'], texts: readonly string[]): string {
  if (api === 'v1') return JSON.stringify({ texts });
  return JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [texts.length], data: texts }] });
}

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

async function runScenario(url: string, modelName: string, s: Scenario, texts: readonly string[]): Promise<ScenarioResult> {
  const before = await (await fetch(`${url}/metrics`)).text();
  const bodies = Array.from({ length: 32 }, (_, i) => requestBody(s.api, Array.from({ length: s.textsPerRequest }, (_, j) => texts[(i * s.textsPerRequest + j) % texts.length]!)));
  const bar = progressBar(s.name);
  let answered = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: s.api === 'v1' ? `${url}/v1/predict` : `${url}/v2/models/${encodeURIComponent(modelName)}/infer`,
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

function percentile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * The heaviest request the default limits let in: maxTexts texts of maxChars characters (pairs of
 * that size would pass the 1 MB body limit). Two connections send `heavy` of them back to back
 * while one client asks /healthz every 10 ms.
 */
async function healthUnderWorst(url: string, mode: HealthUnderLoad['mode'], texts: readonly string[], heavy: number): Promise<HealthUnderLoad> {
  const long = (from: number): string => {
    let s = '';
    for (let i = from; s.length < SERVE_DEFAULTS.maxChars; i++) s += texts[i % texts.length] + ' ';
    return s.slice(0, SERVE_DEFAULTS.maxChars);
  };
  const body = JSON.stringify({ texts: Array.from({ length: SERVE_DEFAULTS.maxTexts }, (_, i) => long(i * 5)) });
  if (Buffer.byteLength(body) > SERVE_DEFAULTS.bodyLimit) throw new Error('the worst-case body is over the default body limit');
  const bar = progressBar(`/healthz under the heaviest requests (${mode})`);
  let sent = 0;
  let done = false;
  const t0 = performance.now();
  const sender = async (): Promise<void> => {
    while (sent < heavy) {
      sent++;
      const r = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (r.status !== 200) throw new Error(`heavy request: HTTP ${r.status} ${await r.text()}`);
      bar.update(sent, heavy);
    }
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const senders = Promise.all([sender(), sender()]).finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const p0 = performance.now();
    const r = await fetch(`${url}/healthz`);
    await r.arrayBuffer();
    latencies.push(performance.now() - p0);
    await new Promise((res) => setTimeout(res, 10));
  }
  await senders;
  loop.disable();
  bar.stop();
  const sorted = [...latencies].sort((a, b) => a - b);
  return { mode, heavyRequests: heavy, heavySeconds: (performance.now() - t0) / 1000, probes: sorted.length, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), maxMs: sorted[sorted.length - 1] ?? NaN, loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6 };
}

async function listen(model: Classifier, opts: { maxBatch: number; maxWaitMs: number }): Promise<{ url: string; close: () => Promise<void> }> {
  const app = createServer(model, { ...opts, maxTexts: 64 });
  const url = await app.listen({ host: HOST, port: 0 });
  if (!new URL(url).hostname.startsWith('127.')) throw new Error(`refusing to load-test a non-loopback address ${url}`);
  return { url, close: () => app.close() };
}

export async function runServeBench(modelDir = path.join(ROOT, 'fixtures', 'sst2-sibling-a'), opts: { maxBatch?: number; maxWaitMs?: number; heavy?: number } = {}): Promise<ServeBenchResult> {
  const maxBatch = opts.maxBatch ?? 32;
  const maxWaitMs = opts.maxWaitMs ?? 5;
  const heavy = opts.heavy ?? 6;
  const texts = sst2Texts(512);
  const loadAverage = os.loadavg()[0]!;
  const model = await loadClassifier(modelDir);
  const health: HealthUnderLoad[] = [];
  let scenarios: ScenarioResult[] = [];
  let offline: number;
  try {
    offline = await offlineThroughput(model, texts, maxBatch);
    // As `bertfuse serve` runs: the model in a worker thread.
    const worker = await WorkerClassifier.load(modelDir);
    try {
      const s = await listen(worker, { maxBatch, maxWaitMs });
      try {
        for (const sc of SCENARIOS) scenarios = [...scenarios, await runScenario(s.url, worker.name, sc, texts)];
        health.push(await healthUnderWorst(s.url, 'worker thread', texts, heavy));
      } finally {
        await s.close();
      }
    } finally {
      await worker.close();
    }
    // The alternative: the model on the main thread, runs bounded by maxTokens with a yield between.
    const s = await listen(model, { maxBatch, maxWaitMs });
    try {
      health.push(await healthUnderWorst(s.url, 'in process', texts, heavy));
    } finally {
      await s.close();
    }
  } finally {
    await model.close();
  }
  const maxLength = (JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as { max_position_embeddings: number }).max_position_embeddings;
  return { model: path.basename(modelDir), maxLength, health, offlineTextsPerSecond: offline, offlineBatchSize: maxBatch, maxBatch, maxWaitMs, scenarios, loadAverage };
}

export function serverSection(r: ServeBenchResult): string {
  const f0 = (x: number): string => x.toFixed(0);
  const f1 = (x: number): string => x.toFixed(1);
  const rows = r.scenarios.map((s) => `| ${s.scenario.name} | ${s.completed} / ${s.scenario.requests}${s.failed ? ` (${s.failed} failed)` : ''} | ${f1(s.seconds)} | ${f0(s.requestsPerSecond)} | ${f0(s.textsPerSecond)} | ${f1(s.p50Ms)} | ${f1(s.p99Ms)} | ${f1(s.meanBatch)} |`);
  return [
    '## Server',
    '',
    `\`bertfuse serve\` (\`createServer\`, model in a worker thread) on 127.0.0.1, model \`${r.model}\`, micro-batching max batch ${r.maxBatch}, max wait ${r.maxWaitMs} ms;`,
    `the same load through our \`/v1/predict\` and through the Open Inference Protocol's \`/v2/models/{name}/infer\` (BYTES text input);`,
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
    `### /healthz while the heaviest in-limit requests run`,
    '',
    `Two connections send ${r.health[0]?.heavyRequests ?? 0} requests of ${SERVE_DEFAULTS.maxTexts} texts × ${SERVE_DEFAULTS.maxChars.toLocaleString('en')} characters (the default limits; each text is cut to the model's ${r.maxLength} tokens) back to back; one client asks \`/healthz\` every 10 ms meanwhile. Goal: p99 < 100 ms.`,
    '`worker thread` is how `bertfuse serve` runs the model; `in process` runs it on the event loop in runs of at most 4,096 rows × tokens with a yield between them.',
    '',
    'The last two columns are the event loop\'s own delay meanwhile (`perf_hooks.monitorEventLoopDelay`, minus its 10 ms resolution): time the loop was blocked, as opposed to waiting for a core on a busy machine.',
    '',
    '| model runs | heavy requests | seconds | /healthz probes | p50 ms | p99 ms | max ms | loop delay p99 ms | loop delay max ms |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.health.map((h) => `| ${h.mode} | ${h.heavyRequests} | ${f1(h.heavySeconds)} | ${h.probes} | ${f1(h.p50Ms)} | ${f1(h.p99Ms)} | ${f1(h.maxMs)} | ${f1(Math.max(0, h.loopP99Ms - 10))} | ${f1(Math.max(0, h.loopMaxMs - 10))} |`),
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
  let tmp: string | null = null;
  let modelDir = modelArg ? path.resolve(modelArg) : undefined;
  if (args.includes('--base')) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-serve-bench-'));
    modelDir = path.join(tmp, 'bert-base');
    process.stderr.write(`[serve bench] random BERT-base in ${modelDir}\n`);
    await createRandomCheckpoint(modelDir, { ...BERT_BASE, seed: 1 });
  }
  let result: ServeBenchResult;
  try {
    result = await runServeBench(modelDir, tmp ? { heavy: 2 } : {});
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  const section = serverSection(result);
  process.stdout.write(section + '\n');
  if (!args.includes('--no-write')) writeServerSection(path.join(ROOT, 'BENCHMARKS.md'), section);
}
