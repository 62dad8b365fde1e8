// Clipping + AdamW alone on BERT-base-sized tensors (110M parameters, BERT-base's shapes, random
// values): the plain JavaScript loop on the calling thread against OptimizerPool (WebAssembly SIMD)
// on 1 and on N threads, timed round-robin in one process, medians of wall and process CPU time.
// A quick look at what bench/training.ts reports as "optimizer"; writes nothing.
//
//   node --import tsx bench/optimizer.ts [--rounds 7] [--threads 2]
import os from 'node:os';
import { adamwScalars, clipScale, globalNorm, initAdamWState, updateTensorScalar } from '../src/train/adamw.js';
import { OptimizerPool, type StepPlan } from '../src/train/optimizer-pool.js';
import { Rng } from '../src/util/rng.js';

/** BERT-base's parameter shapes, flattened: embeddings, 12 layers, pooler, a 2-label head. */
function bertBaseSizes(): number[] {
  const [H, I, L, V, P] = [768, 3072, 12, 30522, 512];
  const layer = [H * H, H, H * H, H, H * H, H, H * H, H, H, H, H * I, I, I * H, H, H, H];
  return [V * H, P * H, 2 * H, H, H, ...Array.from({ length: L }, () => layer).flat(), H * H, H, 2 * H, 2];
}

const argv = process.argv.slice(2);
const num = (name: string, d: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : d);
const rounds = num('--rounds', 7);
const threads = num('--threads', os.availableParallelism());
const sizes = bertBaseSizes();
const rng = new Rng(1);
const grads = sizes.map((n) => Float32Array.from({ length: n }, () => (rng.next() - 0.5) * 0.01));
const decay = sizes.map((n) => n > 2 * 768); // matrices and embedding tables, not biases or LayerNorm
const plan = (norm: number): StepPlan => ({ lr: 1e-5, opts: { weightDecay: 0.01, gradScale: clipScale(norm, 1) } });
console.log(`${sizes.reduce((a, b) => a + b, 0)} parameters in ${sizes.length} tensors; ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores`);

type Contender = { name: string; step: () => Promise<void>; close?: () => Promise<void> };
const contenders: Contender[] = [];
{
  const w = grads.map((g) => g.map((x) => x * 7));
  const g = grads.map((x) => x.slice());
  const state = initAdamWState(sizes);
  contenders.push({
    name: 'JS loop, 1 thread',
    step: async () => {
      const s = adamwScalars(++state.step, 1e-5, plan(globalNorm(g)).opts);
      sizes.forEach((_, k) => updateTensorScalar(w[k]!, g[k]!, state.m[k]!, state.v[k]!, s, decay[k]!));
    },
  });
}
for (const t of [...new Set([1, threads])]) {
  const w = grads.map((g) => g.map((x) => x * 7));
  const g = grads.map((x) => x.slice());
  const pool = OptimizerPool.create(initAdamWState(sizes), decay, t);
  contenders.push({ name: `OptimizerPool, ${t} thread${t > 1 ? 's' : ''}`, step: async () => void (await pool.step(w, g, plan)), close: () => pool.close() });
}

const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const times = contenders.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
for (let r = 0; r <= rounds; r++) {
  for (const [i, c] of contenders.entries()) {
    const [c0, t0] = [cpu(), performance.now()];
    await c.step();
    // Round 0 warms up (first touch of the moments, worker start-up).
    if (r > 0) {
      times[i]!.wall.push(performance.now() - t0);
      times[i]!.cpu.push(cpu() - c0);
    }
  }
}
for (const c of contenders) await c.close?.();
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(times[0]!.wall);
contenders.forEach((c, i) => {
  const [wall, cp] = [median(times[i]!.wall), median(times[i]!.cpu)];
  console.log(`${c.name.padEnd(26)} wall ${wall.toFixed(0).padStart(5)} ms  cpu ${cp.toFixed(0).padStart(5)} ms  ${(base / wall).toFixed(2)}x`);
});
console.log(`1-minute load average ${os.loadavg()[0]!.toFixed(1)} (a busy machine hides the threads' gain)`);
