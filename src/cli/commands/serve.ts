import type { Command } from 'commander';
import { BertfuseError } from '../../errors.js';
import { WorkerClassifier } from '../../runtime/worker-classifier.js';
import { SERVE_DEFAULTS, createServer } from '../../serve/server.js';
import { positiveInt, printLine, printNote } from '../output.js';
import { addQuantizeFlag, addTaskFlag } from '../graph-flags.js';
import type { QuantizeMode } from '../../graph/quantize.js';
import { statusLine } from '../progress.js';

interface ServeFlags {
  host: string;
  port: number;
  maxBatch: number;
  maxWaitMs: number;
  maxTokens: number;
  maxTexts: number;
  maxChars: number;
  bodyLimit: number;
  requestTimeoutMs: number;
  threads?: number;
  quantize?: QuantizeMode;
  task?: string;
  quiet?: boolean;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > 65535) throw new BertfuseError('E_USAGE', `--port must be an integer from 0 to 65535, got "${v}"`);
  return n;
}

function nonNegative(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new BertfuseError('E_USAGE', `${name} must be a number ≥ 0, got "${v}"`);
    return n;
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve a model over HTTP: POST /v1/predict, GET /healthz, GET /metrics (Prometheus)')
    .argument('<model>', 'model folder, combined bertfuse folder, .onnx file, or hub id org/name')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', port, 8080)
    .option('--max-batch <n>', 'most inputs per model run', positiveInt('--max-batch'), SERVE_DEFAULTS.maxBatch)
    .option('--max-wait-ms <ms>', 'longest wait for a micro-batch to fill', nonNegative('--max-wait-ms'), SERVE_DEFAULTS.maxWaitMs)
    .option('--max-tokens <n>', 'most rows × tokens per model run (bounds how long one run takes)', positiveInt('--max-tokens'), SERVE_DEFAULTS.maxTokens)
    .option('--max-texts <n>', 'texts (or pairs) per request', positiveInt('--max-texts'), SERVE_DEFAULTS.maxTexts)
    .option('--max-chars <n>', 'characters per text', positiveInt('--max-chars'), SERVE_DEFAULTS.maxChars)
    .option('--body-limit <bytes>', 'bytes per request body', positiveInt('--body-limit'), SERVE_DEFAULTS.bodyLimit)
    .option('--request-timeout-ms <ms>', 'time a client has to send its whole request (0 = no limit)', nonNegative('--request-timeout-ms'), SERVE_DEFAULTS.requestTimeoutMs)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt('--threads'))
    .option('-q, --quiet', 'no progress (loading spinner, download bar)');
  addTaskFlag(addQuantizeFlag(cmd), 'multi-task merges: serve this task\'s head (a server answers with one label set)')
    .action(async (target: string, f: ServeFlags) => {
      const line = statusLine({ quiet: Boolean(f.quiet) });
      line.spin(`loading ${target}`);
      // The model runs in a worker thread, so /healthz and other requests are answered during a run.
      const model = await WorkerClassifier.load(target, { runtime: f.threads ? { threads: f.threads } : {}, ...(f.quantize ? { quantize: f.quantize } : {}), ...(f.task !== undefined ? { task: f.task } : {}), hub: { onProgress: (d, t) => line.bar(`download ${target}`, d, t) } }).finally(() => line.stop());
      const app = createServer(model, { maxBatch: f.maxBatch, maxWaitMs: f.maxWaitMs, maxTokens: f.maxTokens, maxTexts: f.maxTexts, maxChars: f.maxChars, bodyLimit: f.bodyLimit, requestTimeoutMs: f.requestTimeoutMs, onNote: printNote });
      let address: string;
      try {
        address = await app.listen({ host: f.host, port: f.port });
      } catch (e) {
        await model.close();
        throw new BertfuseError('E_USAGE', `cannot listen on ${f.host}:${f.port} (${(e as Error).message})`);
      }
      printLine(`listening on ${address} (model ${model.name}${model.quantize ? `, ${model.quantize}` : ''}; labels ${model.labels.join(', ')}; max batch ${f.maxBatch}, max wait ${f.maxWaitMs} ms)`);
      // SIGTERM / SIGINT: stop accepting, let in-flight requests finish, release the model, exit 0.
      await new Promise<void>((resolve, reject) => {
        const stop = (signal: string): void => {
          printLine(`${signal}: draining in-flight requests`);
          app
            .close()
            .then(() => model.close())
            .then(() => {
              printLine('stopped');
              resolve();
            }, reject);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
