import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

/** Milliseconds per run spent in each operator type, from onnxruntime's own profiler. */
export async function opTimes(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, runs: number, tmp: string): Promise<Map<string, number>> {
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
  for (const f of files) {
    const events = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
    fs.rmSync(path.join(dir, f));
    // The first run includes one-off allocations: drop it.
    const firstRun = events.find((e) => e.name === 'model_run');
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.op_name) continue;
      if (firstRun && (e as unknown as { ts: number }).ts < (firstRun as unknown as { ts: number }).ts + firstRun.dur) continue;
      byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + e.dur / 1000 / runs);
    }
  }
  return byOp;
}
