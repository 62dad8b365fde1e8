import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import ort from 'onnxruntime-node';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly threadsPerCore: number;
  /** SIMD features that decide the fp32 and int8 kernels onnxruntime picks. */
  readonly simd: string[];
  readonly memoryGiB: number;
  readonly node: string;
  readonly onnxruntime: string;
  readonly os: string;
  /** 1-minute load average when the run started: other processes share the CPU. */
  readonly loadAtStart: number;
}

function lscpu(): Record<string, string> {
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8' });
    return Object.fromEntries(out.split('\n').map((l) => l.split(/:\s+/, 2) as [string, string]).filter(([k, v]) => k && v).map(([k, v]) => [k.trim(), v.trim()]));
  } catch {
    return {};
  }
}

export function describeMachine(): Machine {
  const l = lscpu();
  const flags = new Set((l['Flags'] ?? '').split(/\s+/));
  const simd = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8'].filter((f) => flags.has(f));
  const cores = Number(l['Core(s) per socket'] ?? os.cpus().length) * Number(l['Socket(s)'] ?? 1);
  let osName = `${os.type()} ${os.release()}`;
  try {
    const pretty = /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) osName = pretty;
  } catch {
    // not Linux: keep os.type()
  }
  return {
    cpu: l['Model name'] ?? os.cpus()[0]?.model ?? 'unknown',
    cores,
    threadsPerCore: Number(l['Thread(s) per core'] ?? 1),
    simd,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    onnxruntime: ort.env.versions.node ?? 'unknown',
    os: osName,
    loadAtStart: os.loadavg()[0]!,
  };
}
