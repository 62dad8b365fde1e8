import type { Machine } from './machine.js';
import { mdTable, ratio, type SectionResult } from './context.js';
import type { CeilingData } from './sections/ceiling.js';
import type { DatasetData, LoadData } from './sections/dataset.js';
import { FAMILY_GOAL, type FamiliesData } from './sections/families.js';
import type { Int8Data } from './sections/int8.js';
import type { RuntimeData } from './sections/runtime.js';
import type { ThroughputData } from './sections/throughput.js';
import type { TorchData } from './sections/torch.js';
import type { VariantsData } from './sections/variants.js';

/** Sections other helpers own; a bench run keeps them as they are. */
const FOREIGN_SECTIONS = [/^## Merge\b/, /^## Server\b/];

export interface BenchResults {
  readonly machine: Machine;
  readonly command: string;
  readonly size: 'base' | 'tiny';
  readonly quick: boolean;
  readonly minutes: number;
  readonly loadAtEnd: number;
  readonly ceiling: CeilingData;
  readonly throughput: ThroughputData;
  readonly variants: VariantsData;
  readonly runtime: RuntimeData;
  readonly torch: TorchData;
  readonly int8: Int8Data;
  readonly dataset: DatasetData;
  readonly load: LoadData;
  /** Absent in results files written before the Families section existed. */
  readonly families?: FamiliesData;
  readonly sections: readonly SectionResult[];
}

interface Target {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
  /** How far off, when missed. */
  readonly gap: string;
}

function targets(r: BenchResults): Target[] {
  const row = r.throughput.rows.find((x) => x.batch === 8 && x.seq === 128) ?? r.throughput.rows[r.throughput.rows.length - 1]!;
  const out: Target[] = [];
  const flops = (r.throughput.flopsPerSeq[row.seq]! * row.batch) / row.member;
  const bestFlops = Math.max(...r.throughput.rows.map((x) => (r.throughput.flopsPerSeq[x.seq]! * x.batch) / x.member));
  const size = `${row.batch} × ${row.seq}`;
  if (r.torch.available && r.torch.ortCombined !== undefined && r.torch.bestPair !== undefined) {
    const x = r.torch.bestPair / r.torch.ortCombined;
    out.push({ target: `combined graph fp32 ≥ 1.4x PyTorch eager two members (${size}, faster torch path)`, measured: ratio(x), met: x >= 1.4, gap: x >= 1.4 ? '' : `${((1.4 / x - 1) * 100).toFixed(0)}% short (needs ${ratio(1.4)})` });
  } else {
    out.push({ target: 'combined graph fp32 ≥ 1.4x PyTorch eager two members', measured: 'not measured', met: null, gap: r.torch.reason ?? '' });
  }
  const bb = row.combined / (row.member + row.memberB) - 1;
  out.push({ target: `combined graph ≤ 5% slower than the two members back to back (${size})`, measured: `${bb >= 0 ? '+' : '−'}${Math.abs(bb * 100).toFixed(1)}% time`, met: bb <= 0.05, gap: bb <= 0.05 ? '' : `${((bb - 0.05) * 100).toFixed(1)} points over` });
  // The encoder timed round-robin with the MatMul is the fair comparison; the throughput table's own
  // rate (timed in another block) is shown for reference.
  const share = r.ceiling.encoderGflops / r.ceiling.gflops;
  out.push({
    target: 'encoder fp32 ≥ 90% of the MatMul ceiling (8 × 128, same round-robin)',
    measured: `${r.ceiling.encoderGflops.toFixed(0)} / ${r.ceiling.gflops.toFixed(0)} GFLOP/s = ${(share * 100).toFixed(0)}% (throughput table: ${flops.toFixed(0)} GFLOP/s at ${size}, best size ${bestFlops.toFixed(0)})`,
    met: share >= 0.9,
    gap: share >= 0.9 ? '' : `${((0.9 - share) * 100).toFixed(0)} points short`,
  });
  const accDrop = Math.max(...r.int8.accuracy.map((a) => a.fp32 - a.int8));
  out.push({ target: 'int8 ≥ 2x fp32 throughput (one member)', measured: ratio(r.int8.speedup), met: r.int8.speedup >= 2, gap: r.int8.speedup >= 2 ? '' : `${((2 / r.int8.speedup - 1) * 100).toFixed(0)}% short` });
  out.push({ target: 'int8 accuracy loss ≤ 0.5 points on sst2_dev (every sst2 fixture)', measured: `worst ${accDrop > 0 ? '−' : '+'}${Math.abs(accDrop * 100).toFixed(2)} points`, met: accDrop <= 0.005, gap: accDrop <= 0.005 ? '' : `${((accDrop - 0.005) * 100).toFixed(2)} points over` });
  if (r.torch.bestPair !== undefined) {
    const x = r.torch.bestPair / r.int8.combinedInt8;
    out.push({ target: 'combined graph int8 ≥ 2.8x PyTorch eager two members', measured: ratio(x), met: x >= 2.8, gap: x >= 2.8 ? '' : `${((2.8 / x - 1) * 100).toFixed(0)}% short` });
  }
  out.push({ target: 'sst2_dev with dynamic padding ≥ 3x faster than padding to 128', measured: ratio(r.dataset.speedup), met: r.dataset.speedup >= 3, gap: r.dataset.speedup >= 3 ? '' : `${((3 / r.dataset.speedup - 1) * 100).toFixed(1)}% short` });
  if (r.families) {
    const f = r.families;
    const fused = f.rows.filter((x) => x.precision === 'fp32' && x.kernels === 'fused');
    const worst = fused.reduce((a, b) => (b.ceilingShare < a.ceilingShare ? b : a));
    const ok = worst.ceilingShare >= FAMILY_GOAL;
    out.push({
      target: `every BERT-shaped family fp32 ≥ ${(FAMILY_GOAL * 100).toFixed(0)}% of the MatMul ceiling (${f.batch} × ${f.seq}, default kernels)`,
      measured: fused.map((x) => `${x.model} ${(x.ceilingShare * 100).toFixed(1)}%`).join(', '),
      met: ok,
      gap: ok ? '' : `${fused.filter((x) => x.ceilingShare < FAMILY_GOAL).map((x) => `${x.model} ${shortBy((FAMILY_GOAL - x.ceilingShare) * 100)}`).join(', ')} (Families says why)`,
    });
  }
  out.push({ target: 'BERT-base session creation < 1.5 s', measured: `${r.load.fp32.session.toFixed(2)} s (+ ${r.load.fp32.build.toFixed(2)} s graph build)`, met: r.load.fp32.session < 1.5, gap: r.load.fp32.session < 1.5 ? '' : `${(r.load.fp32.session - 1.5).toFixed(2)} s over` });
  return out;
}

export function renderReport(r: BenchResults, explanations: string): string {
  const m = r.machine;
  const t = targets(r);
  // The load at the end counts the bench's own threads; only the load at the start shows other work.
  const noisy = m.loadAtStart > 1;
  return [
    '# Benchmarks',
    '',
    `Generated by \`${r.command}\` in ${r.minutes.toFixed(1)} minutes${r.quick ? ' (**--quick**: fewer sizes and repetitions; a smoke run, not the reference numbers)' : ''}${r.size === 'tiny' ? ' (**tiny model**: harness check only)' : ''}. Absolute times drift on this shared machine; ratios are measured within one run, mostly round-robin (A B C A B C …), so they are the numbers to quote.`,
    '',
    '## Machine',
    '',
    mdTable(['', ''], [
      ['CPU', `${m.cpu}, ${m.cores} cores × ${m.threadsPerCore} thread${m.threadsPerCore > 1 ? 's' : ''}`],
      ['SIMD', m.simd.join(', ') || 'none detected'],
      ['memory', `${m.memoryGiB} GiB`],
      ['OS', m.os],
      ['Node.js', m.node],
      ['onnxruntime-node', m.onnxruntime],
      ['PyTorch peer', r.torch.available ? `${r.torch.version} (Debian python3-torch, OpenBLAS)` : `not run: ${r.torch.reason}`],
      ['load average (1 min) at start / end', `${m.loadAtStart.toFixed(2)} / ${r.loadAtEnd.toFixed(2)}`],
    ]),
    '',
    noisy
      ? `**Other processes were running when this run started** (1-minute load average ${m.loadAtStart.toFixed(2)} on ${m.cores} cores): absolute numbers are depressed and noisier than on an idle machine. Round-robin timing keeps the ratios comparable.`
      : `The machine was otherwise idle when the run started (1-minute load average ${m.loadAtStart.toFixed(2)} on ${m.cores} cores).`,
    '',
    '## Targets',
    '',
    mdTable(['target', 'measured', 'status'], t.map((x) => [x.target, x.measured, x.met === null ? 'not measured' : x.met ? 'met' : `**missed**: ${x.gap}`])),
    '',
    explanations,
    '',
    ...r.sections.flatMap((s) => [`## ${s.title}`, '', s.markdown, '']),
  ].join('\n');
}

/** `## Merge` / `## Server` blocks of an existing BENCHMARKS.md, verbatim. */
export function foreignSections(existing: string): string[] {
  const lines = existing.split('\n');
  const blocks: string[] = [];
  let current: string[] | null = null;
  for (const line of lines) {
    if (line.startsWith('## ')) {
      if (current) blocks.push(current.join('\n').trimEnd());
      current = FOREIGN_SECTIONS.some((re) => re.test(line)) ? [line] : null;
    } else if (line.startsWith('# ')) {
      if (current) blocks.push(current.join('\n').trimEnd());
      current = null;
    } else if (current) {
      current.push(line);
    }
  }
  if (current) blocks.push(current.join('\n').trimEnd());
  return blocks;
}

/** Points below a goal; a share that rounds to the goal itself still reads as below it. */
function shortBy(points: number): string {
  return points < 0.05 ? 'under 0.1 point short' : `${points.toFixed(1)} points short`;
}
