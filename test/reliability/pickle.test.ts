import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { openTorchBin } from '../../src/checkpoint/pickle/torch-bin.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { FIXTURE_BIN, expectRefused, fixtureBinEntries, pickleCases } from '../helpers/corrupt.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { CHECKPOINT_CONSUMERS, outputsOf, stageFixture } from './consumers.js';
import { knownIssue } from './known-issues.js';

const root = tempDir('bertfuse-rel-pickle-');
const folder = stageFixture(fixture('sst2-sibling-a-bin'), path.join(root, 'model'));
const weights = path.join(folder, 'pytorch_model.bin');

/** Opening must refuse; if it opens, reading every tensor must (the refusal may be lazy). */
function openAndReadAll(file: string): void {
  const s = openTorchBin(file);
  try {
    for (const n of s.names()) s.read(n);
  } finally {
    s.close();
  }
}

describe('pytorch_model.bin: hostile and damaged files are refused', () => {
  for (const c of pickleCases()) {
    test(c.name, knownIssue(c.name), async () => {
      const file = path.join(root, 'single.bin');
      fs.writeFileSync(file, c.bytes());
      await expectRefused(() => openAndReadAll(file), { code: c.code, names: file, pattern: c.pattern });
      fs.copyFileSync(file, weights);
      for (const consumer of CHECKPOINT_CONSUMERS) {
        const out = path.join(root, 'out', 'model.onnx');
        await expectRefused(() => consumer.run(folder, out), { code: c.code, names: weights, pattern: c.pattern }, outputsOf(out), consumer.name);
      }
    });
  }

  test('no foreign global ever runs: the evil pickle leaves no trace', async () => {
    const marker = path.join(root, 'pwned');
    const { PickleWriter, torchZip } = await import('../helpers/corrupt.js');
    const file = path.join(root, 'touch.bin');
    fs.writeFileSync(file, torchZip(new PickleWriter().proto(2).global('os', 'system').str(`touch ${marker}`).op(0x85).reduce().stop().bytes(), {}));
    await expectRefused(() => openAndReadAll(file), { code: 'E_UNSAFE_PICKLE', names: file, pattern: /os\.system/ });
    assert.ok(!fs.existsSync(marker));
  });

  test('the same checkpoint stored with deflate reads the same tensors as the stored original', async () => {
    const { zipSync } = await import('fflate');
    const file = path.join(root, 'deflated.bin');
    fs.writeFileSync(file, zipSync(fixtureBinEntries(), { level: 6 }));
    const a = openTorchBin(FIXTURE_BIN);
    const b = openTorchBin(file);
    const st = SafetensorsFile.open(path.join(fixture('sst2-sibling-a'), 'model.safetensors'));
    try {
      assert.deepEqual(b.names().sort(), a.names().sort());
      for (const n of a.names()) {
        assert.deepEqual(Buffer.from(b.read(n).data.buffer), Buffer.from(a.read(n).data.buffer), n);
        assert.deepEqual(Buffer.from(a.read(n).data.buffer), Buffer.from(st.read(n).data.buffer), `${n} equals the safetensors fixture`);
      }
    } finally {
      a.close();
      b.close();
      st.close();
    }
  });

  test('the good fixture loads as a checkpoint (the suite refuses only what is broken)', () => {
    fs.copyFileSync(FIXTURE_BIN, weights);
    loadCheckpoint(folder).close();
  });
});
