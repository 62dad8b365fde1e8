// Runs the whole benchmark harness at a toy size so the code cannot rot. No timing assertions:
// only that every section ran, produced numbers, and the report file is well formed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { foreignSections } from '../../bench/report.js';
import { parseArgs, runBench, writeReport } from '../../bench/run.js';
import { encoderFlops } from '../../bench/flops.js';
import { parseModelConfig } from '../../src/architectures/registry.js';
import { tempDir } from '../helpers/fixtures.js';

test('encoder FLOP formula matches a hand count for BERT-base at seq 128', () => {
  // Per layer and token: Q, K, V, attention-out 4·768², FFN 2·768·3072, attention 2·128·768 MACs.
  const macsPerToken = 12 * (4 * 768 * 768 + 2 * 768 * 3072 + 2 * 128 * 768);
  const heads = 768 * 768 + 768 * 2;
  const cfg = parseModelConfig({ model_type: 'bert', architectures: ['BertForSequenceClassification'], id2label: { 0: 'a', 1: 'b' }, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, vocab_size: 30522, max_position_embeddings: 512, type_vocab_size: 2 }, 'config.json');
  assert.equal(encoderFlops(cfg, 1, 128, 2), 2 * (128 * macsPerToken + heads));
  assert.equal(encoderFlops(cfg, 8, 128), 8 * encoderFlops(cfg, 1, 128));
  assert.ok(Math.abs(encoderFlops(cfg, 1, 128) / 1e9 - 22.5) < 0.5);
});

test('flags: --quick, --tiny, --no-torch, --no-write; unknown flags are refused', () => {
  const o = parseArgs(['--quick', '--tiny', '--no-torch', '--no-write']);
  assert.equal(o.quick, true);
  assert.equal(o.size, 'tiny');
  assert.equal(o.torch, false);
  assert.equal(o.out, null);
  assert.ok(o.sizes.length >= 2);
  assert.deepEqual(parseArgs([]).sizes.map(([b, s]) => `${b}x${s}`).sort(), ['1x128', '1x32', '32x128', '32x32', '8x128', '8x32']);
  assert.throws(() => parseArgs(['--fast']), /unknown flag/);
});

test('the harness runs end to end at tiny size and writes a report that keeps other owners\' sections', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'BENCHMARKS.md');
  fs.writeFileSync(out, '# Benchmarks\n\n## Throughput: old\n\nstale\n\n## Merge\n\nmerge numbers | 1\n\n## Server\n\nserver numbers\n');
  const opts = { ...parseArgs(['--tiny', '--quick', '--no-torch', '--no-write']), out };
  const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('bertfuse-bench-')).length;
  const results = await runBench(opts, () => {});
  writeReport(results, out);
  // The temp checkpoints are gone.
  assert.equal(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('bertfuse-bench-')).length, before);

  assert.ok(results.ceiling.gflops > 0);
  assert.equal(results.throughput.rows.length, opts.sizes.length);
  for (const r of results.throughput.rows) for (const t of [r.member, r.memberB, r.combined]) assert.ok(t > 0 && Number.isFinite(t));
  assert.ok(results.throughput.rows.every((r) => r.merged !== null), `merged encoder measured (${results.throughput.mergeNote})`);
  assert.ok(Object.keys(results.variants.seconds).length >= 8);
  assert.equal(results.torch.available, false);
  assert.equal(results.int8.accuracy.length, 5);
  for (const a of results.int8.accuracy) assert.ok(a.fp32 > 0.7 && a.int8 > 0.7, `${a.model}: ${a.fp32} / ${a.int8}`);
  assert.ok(results.dataset.speedup > 1, 'padding to 128 does more work than dynamic padding');
  assert.ok(results.load.fp32.session > 0);

  const md = fs.readFileSync(out, 'utf8');
  for (const h of ['## Machine', '## Targets', '## FLOP ceiling', '## Throughput', '## PyTorch eager peer', '## Kernels', '## Threads', '## int8', '## Dataset evaluation', '## Model load']) assert.ok(md.includes(h), h);
  assert.ok(md.includes('npm run bench'));
  assert.ok(!md.includes('stale'), 'our own old sections are replaced');
  assert.deepEqual(foreignSections(md), ['## Merge\n\nmerge numbers | 1', '## Server\n\nserver numbers']);
  assert.ok(!/NaN|undefined/.test(md), 'no NaN/undefined in the report');
});
