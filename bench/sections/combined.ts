// The combined artifact's real cost: a cascade that skips work (measured against 1 + escalation
// fraction), the both-members graph, and the combined graph in int8 vs float.
//
//   node --import tsx bench/sections/combined.ts [--tiny] [--no-write]   # this section alone
//
// Part 1 uses the bundled trained members (sst2-sibling-a + sst2-stranger-b, two tokenizers) on all
// of sst2_dev with the cascade's τ fit there, so the escalation fraction is the real one. Part 2
// uses the bench's two random BERT-base members on synthetic 32 × 128 batches, with τ set at the
// quantile of the first member's confidence that escalates a chosen share of rows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { readLabelled } from '../../src/data/labelled.js';
import { cascade, type CascadeParams } from '../../src/fusion/cascade.js';
import { mean } from '../../src/fusion/mean.js';
import type { FusionMethod, FusionParams } from '../../src/fusion/types.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { buildCombinedGraph } from '../../src/graph/combine.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { quantizeGraph } from '../../src/graph/quantize.js';
import { loadMembers, type MemberSet } from '../../src/members/load.js';
import { runMembers } from '../../src/members/run.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { createSession } from '../../src/runtime/session.js';
import type { BenchContext, SectionResult } from '../context.js';
import { mdTable, ratio } from '../context.js';
import { syntheticFeeds } from '../feeds.js';
import { interleaved, medians } from '../interleave.js';
import { replaceMarkdownSection } from '../markdown-section.js';
import { createMembers, memberGraph } from '../models.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function combined<P extends FusionParams>(set: MemberSet | { dirs: readonly string[] }, method: FusionMethod<P>, params: P, int8 = false): Uint8Array {
  const members =
    'dirs' in set
      ? set.dirs.map((d, i) => {
          const c = loadCheckpoint(d);
          return { name: `m${i}`, weights: c, group: 0, alignment: c.config.labels!.map((_, j) => j) };
        })
      : set.members.map((m) => ({ name: m.name, weights: m.checkpoint, group: m.group, alignment: m.alignment }));
  const labels = 'dirs' in set ? members[0]!.weights.config.labels! : set.labels;
  const g = buildCombinedGraph({ members, labels, method, params });
  if (int8) quantizeGraph(g);
  return encodeModel(g.toModel());
}

export interface CombinedBenchData {
  readonly trained: { readonly rows: number; readonly fraction: number; readonly tableCost: number; readonly seconds: Record<string, number> };
  readonly base: { readonly size: string; readonly fractions: readonly { readonly target: number; readonly actual: number; readonly seconds: number }[]; readonly first: number; readonly both: number; readonly int8: number; readonly float: number } | null;
}

async function trainedPart(ctx: Pick<BenchContext, 'log' | 'opts'>): Promise<CombinedBenchData['trained']> {
  const data = readLabelled(path.join(ROOT, 'data', 'sst2_dev.tsv'), { labels: ['negative', 'positive'] });
  const set = loadMembers([path.join(ROOT, 'fixtures', 'sst2-sibling-a'), path.join(ROOT, 'fixtures', 'sst2-stranger-b')], { labels: ['negative', 'positive'] });
  try {
    ctx.log('combined: running the trained members on sst2_dev and fitting the cascade');
    const run = await runMembers(set, data.inputs);
    const params = cascade.fit(run.outputs, { labels: data.labels, seed: 0, folds: 5 }, {});
    const stats = cascade.stats!(run.outputs, params);
    const meanParams = mean.fit(run.outputs, { labels: data.labels, seed: 0, folds: 5 }, {});
    const groups = set.groups.map((g) => ({ suffix: g.suffix, tokenizer: g.tokenizer }));
    const encoded = set.groups.map((g) => data.inputs.map((x) => g.tokenizer.encode(x)));
    const first = set.members[0]!;
    const runners = {
      'first member alone': await GraphRunner.create(encodeModel(buildBertModel(first.checkpoint)), [{ suffix: '', tokenizer: first.checkpoint.tokenizer }]),
      'cascade (skips work)': await GraphRunner.create(combined(set, cascade, params), groups),
      'both members (mean)': await GraphRunner.create(combined(set, mean, meanParams), groups),
    };
    try {
      const enc = (name: string): (typeof encoded)[number][] => (name === 'first member alone' ? [encoded[first.group]!] : encoded);
      const times = medians(await interleaved(Object.entries(runners).map(([name, r]) => ({ name, run: () => r.runEncoded(enc(name), { batchSize: 32 }) })), { warmup: 1, reps: ctx.opts.quick ? 2 : 5 }));
      return { rows: data.inputs.length, fraction: stats['fallback_fraction']!, tableCost: stats['cost']!, seconds: Object.fromEntries(times) };
    } finally {
      for (const r of Object.values(runners)) await r.close();
    }
  } finally {
    set.close();
  }
}

/** Confidence of the first member on the feeds, to place τ at a quantile. */
async function confidences(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<number[]> {
  const s = await createSession(bytes, {});
  try {
    const out = await s.run(feeds);
    const z = out['logits']!.data as Float32Array;
    const k = z.length / (feeds['input_ids']!.dims[0] as number);
    const conf: number[] = [];
    for (let i = 0; i < z.length / k; i++) {
      const row = Array.from(z.subarray(i * k, (i + 1) * k));
      const mx = Math.max(...row);
      conf.push(1 / row.reduce((a, v) => a + Math.exp(v - mx), 0));
    }
    return conf;
  } finally {
    await s.release();
  }
}

async function basePart(ctx: Pick<BenchContext, 'log' | 'opts' | 'members' | 'config'>): Promise<CombinedBenchData['base']> {
  const [batch, seq] = [32, 128];
  const feeds = syntheticFeeds(batch, seq, ctx.config.vocabSize);
  const firstFeeds = feeds;
  const dirs = ctx.members;
  const conf = (await confidences(memberGraph(dirs[0]), firstFeeds)).sort((a, b) => a - b);
  const M = 2;
  const meanParams = { weights: [0.5, 0.5], temperatures: [1, 1], postTemperature: 1 };
  const contenders: { name: string; bytes: Uint8Array }[] = [
    { name: 'first', bytes: memberGraph(dirs[0]) },
    { name: 'both', bytes: combined({ dirs }, mean, meanParams as never) },
    { name: 'int8', bytes: combined({ dirs }, mean, meanParams as never, true) },
  ];
  const targets = [0, 0.25, 0.5, 1];
  const actual: number[] = [];
  for (const f of targets) {
    // τ just above the confidence of the f·batch least confident rows.
    const cut = Math.round(f * batch);
    const tau = cut === 0 ? 0 : cut === batch ? 2 : (conf[cut - 1]! + conf[cut]!) / 2;
    actual.push(conf.filter((c) => c < Math.fround(tau)).length / batch);
    const params: CascadeParams = { temperatures: new Array<number>(M).fill(1), threshold: tau, fallback: 'mean' };
    contenders.push({ name: `cascade ${f}`, bytes: combined({ dirs }, cascade, params) });
  }
  ctx.log(`combined: timing ${contenders.length} ${ctx.opts.size === 'base' ? 'BERT-base' : 'tiny'} graphs round-robin at ${batch} × ${seq}`);
  const sessions = await Promise.all(contenders.map(async (c) => ({ name: c.name, s: await createSession(c.bytes, {}) })));
  try {
    const t = medians(await interleaved(sessions.map(({ name, s }) => ({ name, run: () => s.run(feeds) })), { warmup: 1, reps: ctx.opts.quick ? 2 : 4 }));
    return {
      size: ctx.opts.size === 'base' ? 'BERT-base' : 'tiny random',
      fractions: targets.map((f, i) => ({ target: f, actual: actual[i]!, seconds: t.get(`cascade ${f}`)! })),
      first: t.get('first')!,
      both: t.get('both')!,
      int8: t.get('int8')!,
      float: t.get('both')!,
    };
  } finally {
    for (const { s } of sessions) await s.release();
  }
}

export function combinedMarkdown(d: CombinedBenchData, command: string): string {
  const tr = d.trained;
  const first = tr.seconds['first member alone']!;
  const lines = [
    '## Combined models: a cascade that skips work, int8',
    '',
    `Command: \`${command}\`. Medians of round-robin runs (same inputs, same process).`,
    '',
    `**Trained members on all ${tr.rows} rows of sst2_dev** (sst2-sibling-a first, sst2-stranger-b second; two tokenizers; pre-tokenised, batch 32). The cascade's τ is fit on these rows; ${(100 * tr.fraction).toFixed(1)}% of them escalate.`,
    '',
    mdTable(
      ['graph', 'seconds', 'rows/s', 'time vs first member'],
      Object.entries(tr.seconds).map(([name, s]) => [name, s.toFixed(3), (tr.rows / s).toFixed(0), ratio(s / first)]),
    ),
    '',
    `The eval table's cost for this cascade is ${tr.tableCost.toFixed(2)}× the cheapest member (FLOPs: first member + escalated share of the second).`,
  ];
  if (d.base) {
    const b = d.base;
    lines.push(
      '',
      `**Two ${b.size} members, synthetic 32 × 128 batches**, τ placed to escalate a chosen share of rows. Goal: time within 10% of (1 + escalated share) × the first member.`,
      '',
      mdTable(
        ['graph', 'escalated', 'seconds', 'time vs first member', 'goal 1 + share', 'within 10%'],
        [
          ['first member alone', '–', b.first.toFixed(3), '1.00x', '–', '–'],
          ...b.fractions.map((f) => {
            const r = f.seconds / b.first;
            return [`cascade`, `${(100 * f.actual).toFixed(0)}%`, f.seconds.toFixed(3), ratio(r), ratio(1 + f.actual), Math.abs(r / (1 + f.actual) - 1) <= 0.1 ? 'yes' : 'no'];
          }),
          ['both members (mean)', '100%', b.both.toFixed(3), ratio(b.both / b.first), '2.00x', Math.abs(b.both / b.first / 2 - 1) <= 0.1 ? 'yes' : 'no'],
        ],
      ),
      '',
      `Combined graph (mean of both members) in int8 vs float: ${b.int8.toFixed(3)} s vs ${b.float.toFixed(3)} s, ${ratio(b.float / b.int8)} faster (accuracy change: the \`(int8)\` row that \`combine --quantize int8\` adds to the table).`,
    );
  }
  return lines.join('\n') + '\n';
}

export async function combinedSection(ctx: BenchContext): Promise<SectionResult & { data: CombinedBenchData }> {
  const trained = await trainedPart(ctx);
  const base = await basePart(ctx);
  const data = { trained, base };
  const md = combinedMarkdown(data, ctx.opts.command);
  return { title: 'Combined models: a cascade that skips work, int8', markdown: md.replace(/^## [^\n]*\n+/, '').trimEnd(), data };
}

// Standalone: this section only, written into BENCHMARKS.md in place.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tiny = process.argv.includes('--tiny');
  const write = !process.argv.includes('--no-write');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-bench-combined-'));
  try {
    const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);
    const members = await createMembers(tmp, tiny ? 'tiny' : 'base');
    const ck = loadCheckpoint(members[0]);
    const config = ck.config;
    ck.close();
    const command = `node --import tsx bench/sections/combined.ts${tiny ? ' --tiny' : ''}`;
    const opts = { size: tiny ? 'tiny' : 'base', quick: tiny, sizes: [], warmup: 1, reps: 4, torch: false, out: null, json: null, command, python: '' } as const;
    const r = await combinedSection({ opts, tmp, members, config, log });
    const md = combinedMarkdown(r.data, command);
    process.stdout.write(md);
    if (write && !tiny) replaceMarkdownSection(path.join(ROOT, 'BENCHMARKS.md'), 'Combined models: a cascade that skips work, int8', md);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
