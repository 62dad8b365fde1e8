/**
 * Writes the dropout masks bertfuse's trainer draws for one model, batch shape, seed and step, so the
 * PyTorch dropout references (scripts/family-grad-reference.py, which calls this) multiply in the
 * very same masks; the test regenerates them from the seed and checks their digest.
 *
 *   node --import tsx scripts/dropout-masks.ts <model folder> <batch> <sequence> <seed> <step> <masks.bin> < rates.json
 *
 * stdin: the dropout rates by kind (DropoutRates). Writes every mask's float32 values, in the
 * graph's order, one after the other to <masks.bin>; stdout: { points: [{ kind, rate, shape }],
 * sha256 } (the digest of that file's bytes, as masksDigest computes it).
 */
import fs from 'node:fs';
import { loadCheckpoint } from '../src/checkpoint/load.js';
import { maskDims, masksDigest, stepMasks, type DropoutRates } from '../src/train/dropout.js';
import { buildTrainingGraph } from '../src/train/training-graph.js';

const [dir, b, s, seed, step, out] = process.argv.slice(2);
if (!dir || !out) throw new Error('usage: dropout-masks.ts <model folder> <batch> <sequence> <seed> <step> <masks.bin> < rates.json');
const rates = JSON.parse(fs.readFileSync(0, 'utf8')) as DropoutRates;
const ckpt = loadCheckpoint(dir);
try {
  const graph = buildTrainingGraph(ckpt, { temperature: 2, dropout: rates });
  const [batch, sequence] = [Number(b), Number(s)];
  const masks = stepMasks(graph.dropout, batch, sequence, Number(seed), Number(step));
  fs.writeFileSync(out, Buffer.concat(masks.map((m) => Buffer.from(m.buffer, m.byteOffset, m.byteLength))));
  const points = graph.dropout.map((m) => ({ kind: m.kind, rate: m.rate, shape: maskDims(m, batch, sequence) }));
  process.stdout.write(JSON.stringify({ points, sha256: masksDigest(masks) }));
} finally {
  ckpt.close();
}
