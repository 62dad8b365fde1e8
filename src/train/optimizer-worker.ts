import { parentPort, workerData } from 'node:worker_threads';
import { sumSquaresInto, updateTensor } from './adamw.js';
import type { FromOptimizerWorker, OptimizerWorkerData, ToOptimizerWorker } from './optimizer-protocol.js';

/*
 * The worker side of OptimizerPool: holds one share of the tensors for the length of a step (their
 * weights and gradients moved here), sums their squares, updates them, and moves them back.
 */

const port = parentPort!;
const data = workerData as OptimizerWorkerData;
const send = (m: FromOptimizerWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

let held: { tensors: readonly number[]; w: Float32Array[]; g: Float32Array[] } | null = null;

port.on('message', (msg: ToOptimizerWorker) => {
  try {
    if (msg.type === 'norm') {
      held = { tensors: msg.tensors, w: msg.w.map((b) => new Float32Array(b)), g: msg.g.map((b) => new Float32Array(b)) };
      held.tensors.forEach((k, i) => sumSquaresInto(held!.g[i]!, data.partials, data.chunkAt[k]!));
      send({ type: 'normed' });
    } else {
      if (!held) throw new Error('update before norm');
      const { tensors, w, g } = held;
      held = null;
      const s = msg.scalars;
      if (s) tensors.forEach((k, i) => updateTensor(w[i]!, g[i]!, data.m[k]!, data.v[k]!, s, data.decay[k]!));
      const wb = w.map((x) => x.buffer as ArrayBuffer);
      const gb = g.map((x) => x.buffer as ArrayBuffer);
      send({ type: 'updated', w: wb, g: gb }, [...wb, ...gb]);
    }
  } catch (e) {
    send({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
  }
});
