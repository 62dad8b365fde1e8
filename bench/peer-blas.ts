// The PyTorch peers' BLAS: Debian's torch does its float32 products in whatever libblas.so.3 the
// system points at, and OpenBLAS then picks its kernels by CPU model — or by OPENBLAS_CORETYPE, which
// some machines set (seen here: `Haswell`, AVX2 kernels, on an AVX-512 EPYC where OpenBLAS's
// SkylakeX kernels run the same products 2.2x faster). A peer held to slower kernels than its
// library has would flatter bertfuse, so before a peer starts the bench times torch's products
// (bench/blas_probe.py) under each core type this CPU can run and gives the peer the fastest; with
// the reference BLAS (Debian's default, ~8x slower) there is no fair peer and it is skipped.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'blas_probe.py');

export interface CoreTypeRate {
  /** OPENBLAS_CORETYPE for this probe; `inherited` = the environment's own value (or none). */
  readonly coreType: string;
  readonly gflops: number;
}

export type PeerBlas =
  | {
      readonly ok: true;
      /** Environment to start the peer with. */
      readonly env: NodeJS.ProcessEnv;
      readonly library: string;
      /** The core type chosen; `inherited` = the environment's value was already the fastest. */
      readonly coreType: string;
      readonly inherited: string | null;
      readonly rates: readonly CoreTypeRate[];
      /** One phrase for the report, e.g. `OpenBLAS core type SkylakeX (392 GFLOP/s; Haswell, as set in the environment: 178)`. */
      readonly summary: string;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * OpenBLAS core types worth trying on this CPU, fastest family first: each needs the instructions
 * its kernels use. Names are OpenBLAS's own (`OPENBLAS_CORETYPE`, DYNAMIC_ARCH builds).
 */
export function candidateCoreTypes(flags: ReadonlySet<string>, vendor: string): string[] {
  const out: string[] = [];
  const avx512 = ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f));
  if (avx512 && flags.has('avx512_bf16')) out.push('Cooperlake');
  if (avx512) out.push('SkylakeX');
  if (flags.has('avx2') && flags.has('fma')) out.push(vendor === 'AuthenticAMD' ? 'Zen' : 'Haswell', vendor === 'AuthenticAMD' ? 'Haswell' : 'Zen');
  return out;
}

/** The fastest rate; the first (the environment's own) unless another beats it by more than 5% (probe noise). */
export function pickCoreType(rates: readonly CoreTypeRate[]): CoreTypeRate {
  const fastest = rates.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  return fastest.gflops > rates[0]!.gflops * 1.05 ? fastest : rates[0]!;
}

function cpuFlags(): { flags: Set<string>; vendor: string } {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const flags = /^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '';
    return { flags: new Set(flags.split(/\s+/)), vendor: /^vendor_id\s*:\s*(\S+)/m.exec(info)?.[1] ?? '' };
  } catch {
    return { flags: new Set(), vendor: '' };
  }
}

function probe(python: string, env: NodeJS.ProcessEnv, threads: number): { blas: string; gflops: number } | null {
  const r = spawnSync(python, [PROBE, String(threads)], { env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { blas: string; gflops: number };
  } catch {
    return null;
  }
}

/** Times torch's products under each candidate core type and returns the fastest environment. */
export function choosePeerBlas(python: string, threads: number, log: (s: string) => void = () => {}): PeerBlas {
  const inherited = process.env['OPENBLAS_CORETYPE'] ?? null;
  const first = probe(python, process.env, threads);
  if (!first) return { ok: false, reason: `${python} could not run bench/blas_probe.py (does it import torch? apt-get install python3-torch)` };
  if (!first.blas.startsWith('libopenblas')) {
    return first.blas.startsWith('reference BLAS')
      ? { ok: false, reason: `torch runs on the reference BLAS (libblas3), ~8x slower than OpenBLAS: no fair peer (apt-get install libopenblas0-pthread)` }
      : { ok: true, env: process.env, library: first.blas, coreType: 'inherited', inherited, rates: [{ coreType: 'inherited', gflops: first.gflops }], summary: `${first.blas}, ${first.gflops.toFixed(0)} GFLOP/s` };
  }
  const rates: CoreTypeRate[] = [{ coreType: 'inherited', gflops: first.gflops }];
  const { flags, vendor } = cpuFlags();
  for (const coreType of candidateCoreTypes(flags, vendor)) {
    if (coreType === inherited) continue;
    const r = probe(python, { ...process.env, OPENBLAS_CORETYPE: coreType }, threads);
    if (r) rates.push({ coreType, gflops: r.gflops });
  }
  // The environment's own choice wins unless another core type is clearly (> 5%) faster.
  const best = pickCoreType(rates);
  const own = inherited ? `${inherited} (set in the environment)` : 'auto-detected';
  const chosen = best.coreType === 'inherited' ? (inherited ?? 'auto-detected') : best.coreType;
  const others = rates.filter((r) => r !== best).map((r) => `${r.coreType === 'inherited' ? own : r.coreType} ${r.gflops.toFixed(0)}`);
  const summary = `${first.blas}, core type ${chosen} (${best.gflops.toFixed(0)} GFLOP/s on BERT-base's products${others.length ? `; ${others.join(', ')}` : ''})`;
  log(`PyTorch peer BLAS: ${summary}`);
  const env = best.coreType === 'inherited' ? process.env : { ...process.env, OPENBLAS_CORETYPE: best.coreType };
  return { ok: true, env, library: first.blas, coreType: chosen, inherited, rates, summary };
}
