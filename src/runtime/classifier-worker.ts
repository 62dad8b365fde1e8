import { parentPort, workerData } from 'node:worker_threads';
import { registerMergedLoader } from '../artifact/merged-model.js';
import { registerCombinedLoader } from '../artifact/read.js';
import { loadClassifier, type Classifier } from './classifier.js';
import { AbortedError } from './aborted.js';
import { toWire, type FromWorker, type RunRequest, type ToWorker, type WorkerData } from './worker-protocol.js';

/*
 * The worker side of WorkerClassifier: loads one model and runs requests one at a time (the
 * session uses every core anyway). Between model runs the runner yields, so a `cancel` message is
 * seen and the rest of that request is skipped.
 */

const port = parentPort!;
const data = workerData as WorkerData;
const send = (m: FromWorker): void => port.postMessage(m);

registerCombinedLoader();
registerMergedLoader();

let model: Classifier;
try {
  model = await loadClassifier(data.target, { ...(data.runtime ? { runtime: data.runtime } : {}), quantize: data.quantize ?? null, ...(data.task !== undefined ? { task: data.task } : {}) });
} catch (e) {
  send({ type: 'failed', error: toWire(e) });
  port.close();
  process.exit(0);
}
send({ type: 'ready', name: model.name, source: model.source, labels: model.labels, detailed: model.predictDetailed !== undefined, task: model.task ?? null, quantize: model.quantize ?? null });

const controllers = new Map<number, AbortController>();
let queue: Promise<void> = Promise.resolve();

async function run(r: RunRequest, signal: AbortSignal): Promise<void> {
  try {
    if (signal.aborted) throw new AbortedError();
    const opts = { signal, onProgress: (done: number, total: number) => send({ type: 'progress', id: r.id, done, total }), ...(r.batchSize ? { batchSize: r.batchSize } : {}), ...(r.maxTokens ? { maxTokens: r.maxTokens } : {}) };
    if (r.detailed && model.predictDetailed) {
      const d = await model.predictDetailed(r.inputs, opts);
      send({ type: 'done', id: r.id, probs: d.fused, members: Object.entries(d.members), ...(d.ran ? { ran: Object.entries(d.ran) } : {}) });
    } else {
      send({ type: 'done', id: r.id, probs: await model.predictProba(r.inputs, opts) });
    }
  } catch (e) {
    send({ type: 'error', id: r.id, error: toWire(e, signal.aborted) });
  } finally {
    controllers.delete(r.id);
  }
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'run') {
    const ac = new AbortController();
    controllers.set(m.id, ac);
    queue = queue.then(() => run(m, ac.signal));
  } else if (m.type === 'cancel') {
    controllers.get(m.id)?.abort(new AbortedError());
  } else {
    void queue.then(() => model.close()).finally(() => port.close());
  }
});
