import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

export interface Profile {
  /** Milliseconds per run in each operator type. */
  readonly byOp: Map<string, number>;
  /** Milliseconds per run in each node (onnxruntime's node names, after its own fusions). */
  readonly byNode: Map<string, number>;
}

/** Where one run's time goes, from onnxruntime's own profiler (the first run, with its one-off allocations, dropped). */
export async function profileRuns(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, runs: number, tmp: string): Promise<Profile> {
  const prefix = path.join(tmp, `profile-${process.pid}-${Date.now()}`);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix });
  try {
    for (let i = 0; i < runs + 1; i++) await session.run(feeds);
    session.endProfiling();
  } finally {
    await session.release();
  }
  const dir = path.dirname(prefix);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(path.basename(prefix)));
  const byOp = new Map<string, number>();
  const byNode = new Map<string, number>();
  for (const f of files) {
    const events = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { cat: string; name: string; dur: number; ts: number; args?: { op_name?: string } }[];
    fs.rmSync(path.join(dir, f));
    const firstRun = events.find((e) => e.name === 'model_run');
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.op_name) continue;
      if (firstRun && e.ts < firstRun.ts + firstRun.dur) continue;
      const ms = e.dur / 1000 / runs;
      byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + ms);
      const node = e.name.slice(0, -'_kernel_time'.length);
      byNode.set(node, (byNode.get(node) ?? 0) + ms);
    }
  }
  return { byOp, byNode };
}

/** Milliseconds per run spent in each operator type. */
export async function opTimes(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, runs: number, tmp: string): Promise<Map<string, number>> {
  return (await profileRuns(bytes, feeds, runs, tmp)).byOp;
}
