// The PyTorch peers' environment. Debian's torch does its float32 products in whatever libblas.so.3
// the system points at, and OpenBLAS picks its kernels by CPU model or by OPENBLAS_CORETYPE, which
// some machines set (seen here: `Haswell`, AVX2 kernels, on an AVX-512 EPYC whose SkylakeX kernels
// run the same products 2x faster). Its threads matter as much: with Debian's pthread OpenBLAS,
// torch's spinning OpenMP pool and OpenBLAS's own pool fight over 2 cores, and a LayerNorm of 32
// rows took 1.3 ms (seen here; one encoder layer 2.3x slower than with OMP_WAIT_POLICY=PASSIVE or the
// OpenMP build). A peer held to a bad setting would flatter bertfuse, so before a peer starts the
// bench times torch (bench/blas_probe.py) under each setting and starts the peer with the fastest:
// first the core type (matrix products alone), then the OpenBLAS build and the OpenMP wait policy
// (an encoder layer, forward and backward). On the reference BLAS (Debian's default, ~8x slower)
// there is no fair peer and it is skipped.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'blas_probe.py');
/** Debian's two OpenBLAS builds: each folder holds a libblas.so.3 that LD_LIBRARY_PATH can put first. */
const OPENBLAS_BUILDS = ['openmp', 'pthread'].map((b) => ({ build: b, dir: `/usr/lib/x86_64-linux-gnu/openblas-${b}` }));

/** One candidate: what it adds to the environment, and how fast torch ran under it. */
export interface SettingRate {
  /** `as set` = the environment unchanged. */
  readonly label: string;
  readonly env: Readonly<Record<string, string>>;
  /** Higher is better: GFLOP/s for products, 1 / seconds for the layer probe. */
  readonly score: number;
  /** The BLAS library torch loaded under it (as blas_probe.py names it). */
  readonly blas?: string;
}

export type PeerBlas =
  | {
      readonly ok: true;
      /** Environment to start the peer with. */
      readonly env: NodeJS.ProcessEnv;
      /** What the peer runs on and what was tried, for the report. */
      readonly summary: string;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * OpenBLAS core types worth trying on this CPU: each needs the instructions its kernels use. Names
 * are OpenBLAS's own (`OPENBLAS_CORETYPE`, DYNAMIC_ARCH builds).
 */
export function candidateCoreTypes(flags: ReadonlySet<string>, vendor: string): string[] {
  const out: string[] = [];
  const avx512 = ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f));
  if (avx512 && flags.has('avx512_bf16')) out.push('Cooperlake');
  if (avx512) out.push('SkylakeX');
  if (flags.has('avx2') && flags.has('fma')) out.push(vendor === 'AuthenticAMD' ? 'Zen' : 'Haswell', vendor === 'AuthenticAMD' ? 'Haswell' : 'Zen');
  return out;
}

/** The fastest; the first (the environment as set) unless another beats it by more than 5% (probe noise). */
export function pickSetting(rates: readonly SettingRate[]): SettingRate {
  const fastest = rates.reduce((a, b) => (b.score > a.score ? b : a));
  return fastest.score > rates[0]!.score * 1.05 ? fastest : rates[0]!;
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

interface ProbeAnswer {
  readonly blas: string;
  readonly gflops: number;
  readonly seconds: number;
}

function probe(python: string, mode: 'gemm' | 'layer', env: Readonly<Record<string, string>>, threads: number): ProbeAnswer | null {
  const r = spawnSync(python, [PROBE, mode, String(threads)], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ProbeAnswer;
  } catch {
    return null;
  }
}

function rateAll(python: string, mode: 'gemm' | 'layer', threads: number, candidates: readonly { label: string; env: Record<string, string> }[]): SettingRate[] {
  const out: SettingRate[] = [];
  for (const c of candidates) {
    const a = probe(python, mode, c.env, threads);
    if (a) out.push({ ...c, score: mode === 'gemm' ? a.gflops : 1 / a.seconds, blas: a.blas });
  }
  return out;
}

const chosen = new Map<string, PeerBlas>();

/**
 * Times torch under each candidate setting and returns the fastest environment for the peer; once per
 * process for a python and thread count (`npm run bench` starts two peers: inference and training).
 */
export function choosePeerBlas(python: string, threads: number, log: (s: string) => void = () => {}): PeerBlas {
  const key = `${python}\0${threads}`;
  const known = chosen.get(key);
  if (known) {
    if (known.ok) log(`PyTorch peer (chosen earlier in this run): ${known.summary}`);
    return known;
  }
  const choice = measurePeerBlas(python, threads, log);
  chosen.set(key, choice);
  return choice;
}

function measurePeerBlas(python: string, threads: number, log: (s: string) => void): PeerBlas {
  const first = probe(python, 'gemm', {}, threads);
  if (!first) return { ok: false, reason: `${python} could not run bench/blas_probe.py (does it import torch? apt-get install python3-torch)` };
  if (first.blas.startsWith('reference BLAS')) {
    return { ok: false, reason: 'torch runs on the reference BLAS (libblas3), ~8x slower than OpenBLAS: no fair peer (apt-get install libopenblas0-openmp)' };
  }
  if (!first.blas.startsWith('libopenblas')) return { ok: true, env: process.env, summary: `${first.blas} (not OpenBLAS: nothing tried)` };

  // 1. Kernels: matrix products under each core type this CPU runs.
  const inherited = process.env['OPENBLAS_CORETYPE'];
  const { flags, vendor } = cpuFlags();
  const coreTypes = candidateCoreTypes(flags, vendor).filter((c) => c !== inherited);
  const kernels = [
    { label: inherited ? `${inherited} (as set)` : 'auto-detected (as set)', env: {}, score: first.gflops, blas: first.blas },
    ...rateAll(python, 'gemm', threads, coreTypes.map((c) => ({ label: c, env: { OPENBLAS_CORETYPE: c } }))),
  ];
  const kernel = pickSetting(kernels);

  // 2. Threads: the OpenBLAS build and the OpenMP wait policy, on an encoder layer.
  const builds = OPENBLAS_BUILDS.filter((b) => fs.existsSync(path.join(b.dir, 'libblas.so.3')));
  const lib = (dir: string): string => [dir, process.env['LD_LIBRARY_PATH']].filter(Boolean).join(':');
  const threadCandidates: { label: string; env: Record<string, string> }[] = [
    { label: 'as set', env: {} },
    { label: 'OMP_WAIT_POLICY=PASSIVE', env: { OMP_WAIT_POLICY: 'PASSIVE' } },
    ...builds.map((b) => ({ label: `${b.build} OpenBLAS`, env: { LD_LIBRARY_PATH: lib(b.dir) } })),
    ...builds.map((b) => ({ label: `${b.build} OpenBLAS + PASSIVE`, env: { LD_LIBRARY_PATH: lib(b.dir), OMP_WAIT_POLICY: 'PASSIVE' } })),
  ];
  const threading = rateAll(python, 'layer', threads, threadCandidates.map((c) => ({ ...c, env: { ...kernel.env, ...c.env } })));
  const thread = threading.length > 0 ? pickSetting(threading) : { label: 'as set', env: kernel.env, score: 0, blas: kernel.blas };

  // The thread candidates already hold the kernel's environment (and name the library they loaded).
  const env = { ...process.env, ...thread.env };
  const library = thread.blas ?? first.blas;
  const list = (rates: readonly SettingRate[], unit: (r: SettingRate) => string): string => rates.map((r) => `${r.label} ${unit(r)}`).join(', ');
  const summary =
    `${library}, core type ${kernel.label.replace(' (as set)', '')}, threads ${thread.label}` +
    ` (products: ${list(kernels, (r) => `${r.score.toFixed(0)} GFLOP/s`)}; one encoder layer: ${list(threading, (r) => `${(1000 / r.score).toFixed(0)} ms`)})`;
  log(`PyTorch peer: ${summary}`);
  return { ok: true, env, summary };
}
