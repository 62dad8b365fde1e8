import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { expectRefused, safetensorsCases } from '../helpers/corrupt.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { CHECKPOINT_CONSUMERS, outputsOf, stageFixture } from './consumers.js';

const root = tempDir('bertfuse-rel-st-');
// One folder holds the good config and tokenizer; each case swaps in its own damaged weights.
const folder = stageFixture(fixture('sst2-sibling-a'), path.join(root, 'model'), false);
const weights = path.join(folder, 'model.safetensors');

describe('safetensors: damaged files are refused', () => {
  for (const c of safetensorsCases()) {
    test(c.name, async () => {
      const file = path.join(root, 'single.safetensors');
      fs.writeFileSync(file, c.bytes());
      await expectRefused(() => SafetensorsFile.open(file).close(), { code: c.code, names: file, pattern: c.pattern });
      fs.renameSync(file, weights);
      for (const consumer of CHECKPOINT_CONSUMERS) {
        const out = path.join(root, 'out', 'model.onnx');
        await expectRefused(() => consumer.run(folder, out), { code: c.code, names: weights, pattern: c.pattern }, outputsOf(out), consumer.name);
      }
    });
  }

  test('a header length over the 100 MB cap is refused before allocating (sparse 200 MB file)', async () => {
    const file = path.join(root, 'huge-header.safetensors');
    const fd = fs.openSync(file, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(150n * 1024n * 1024n);
    fs.writeSync(fd, len, 0, 8, 0);
    fs.ftruncateSync(fd, 200 * 1024 * 1024);
    fs.closeSync(fd);
    const before = process.memoryUsage().rss;
    await expectRefused(() => SafetensorsFile.open(file).close(), { code: 'E_BAD_SAFETENSORS', names: file, pattern: /header length 157286400 exceeds the 104857600-byte limit/ });
    // The cap is checked before the header buffer exists: RSS did not grow by the header's size.
    const grown = process.memoryUsage().rss - before;
    if (grown > 100 * 1024 * 1024) throw new Error(`RSS grew by ${grown} bytes while refusing`);
    fs.rmSync(file);
  });
});
