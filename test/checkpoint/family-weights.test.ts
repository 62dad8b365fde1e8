import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { planShards, shardName } from '../../src/artifact/merged.js';
import { pickFiles } from '../../src/checkpoint/hub.js';
import { loadCheckpoint, type Checkpoint } from '../../src/checkpoint/load.js';
import { writeSafetensors, type TensorSource } from '../../src/checkpoint/safetensors.js';
import { classifierFromCheckpoint } from '../../src/runtime/classifier.js';
import { tempDir } from '../helpers/fixtures.js';
import { familyFixture, familyReference } from '../architectures/family-fixture.js';
import { writeStateDictBin } from './torch-bin-helpers.js';

/**
 * Every family's weights in the layouts Hugging Face writes besides one model.safetensors: sharded
 * safetensors (index + shards), `pytorch_model.bin` (a torch.save zip), and a sharded `.bin`
 * (`pytorch_model.bin.index.json` + `pytorch_model-0000k-of-0000N.bin`). Each copy, written into a
 * temp folder beside the fixture's config and tokenizer, must hold the same tensors and give the
 * fixture's PyTorch logits (reference.json) within 1e-4.
 */

const CLASSIFIERS = ['distilbert-sst2', 'roberta-sst2-a', 'roberta-sst2-b', 'xlmr-sst2', 'electra-sst2', 'modernbert-sst2', 'modernbert-sst2-mean', 'deberta-sst2'];
const NOT_WEIGHTS = new Set(['model.safetensors', 'reference.json', 'metrics.json']);

/** A folder with the fixture's config and tokenizer files and no weights yet. */
function sideFiles(name: string, layout: string): string {
  const dir = path.join(tempDir(), `${name}-${layout}`);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(familyFixture(name))) if (!NOT_WEIGHTS.has(f)) fs.copyFileSync(path.join(familyFixture(name), f), path.join(dir, f));
  return dir;
}

function sources(ckpt: Checkpoint): TensorSource[] {
  return ckpt.tensors.names().map((n) => ({ name: n, shape: ckpt.tensors.info(n).shape, data: () => ckpt.tensors.read(n).data }));
}

/** Three shards at least: packed by the merge writer's planner with a third of the model per shard. */
function plan(ckpt: Checkpoint): TensorSource[][] {
  const all = sources(ckpt);
  const bytes = all.reduce((s, t) => s + t.shape.reduce((a, d) => a * d, 1) * 4, 0);
  const shards = planShards(all, 4, Math.ceil(bytes / 3));
  assert.ok(shards.length >= 3, `${shards.length} shards`);
  return shards;
}

function writeIndex(file: string, shards: TensorSource[][], shardFile: (k: number, n: number) => string): void {
  const weightMap: Record<string, string> = {};
  shards.forEach((s, k) => s.forEach((t) => (weightMap[t.name] = shardFile(k + 1, shards.length))));
  fs.writeFileSync(file, JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }, null, 2));
}

const binShardName = (k: number, n: number): string => `pytorch_model-${String(k).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.bin`;
const binTensors = (ts: readonly TensorSource[]) => ts.map((t) => ({ name: t.name, shape: t.shape, data: t.data() }));

const LAYOUTS: Record<string, (ckpt: Checkpoint, dir: string) => string[]> = {
  'sharded safetensors': (ckpt, dir) => {
    const shards = plan(ckpt);
    shards.forEach((s, k) => writeSafetensors(path.join(dir, shardName(k + 1, shards.length)), s));
    writeIndex(path.join(dir, 'model.safetensors.index.json'), shards, shardName);
    return ['model.safetensors.index.json', ...shards.map((_, k) => shardName(k + 1, shards.length))];
  },
  'pytorch_model.bin': (ckpt, dir) => {
    writeStateDictBin(path.join(dir, 'pytorch_model.bin'), binTensors(sources(ckpt)));
    return ['pytorch_model.bin'];
  },
  'sharded pytorch_model.bin': (ckpt, dir) => {
    const shards = plan(ckpt);
    shards.forEach((s, k) => writeStateDictBin(path.join(dir, binShardName(k + 1, shards.length)), binTensors(s)));
    writeIndex(path.join(dir, 'pytorch_model.bin.index.json'), shards, binShardName);
    return ['pytorch_model.bin.index.json', ...shards.map((_, k) => binShardName(k + 1, shards.length))];
  },
};

for (const name of CLASSIFIERS) {
  describe(`${name}: sharded safetensors, pytorch_model.bin and a sharded .bin give the reference logits`, () => {
    const ref = familyReference(name);
    const inputs = ref.inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
    for (const [layout, write] of Object.entries(LAYOUTS)) {
      test(layout, async () => {
        const dir = sideFiles(name, layout.replace(/\W+/g, '-'));
        const original = loadCheckpoint(familyFixture(name));
        let written: string[];
        try {
          written = write(original, dir);
        } finally {
          original.close();
        }
        const ckpt = loadCheckpoint(dir);
        const model = await classifierFromCheckpoint(ckpt);
        try {
          assert.deepEqual(ckpt.weightFiles, written.map((f) => path.join(dir, f)));
          assert.equal(ckpt.config.architecture, ref.architecture);
          const logits = (await model.runner.run(inputs, { outputs: ['logits'], batchSize: 8 }))['logits']!;
          const k = ckpt.config.labels!.length;
          ref.inputs.forEach((x, i) => {
            x.logits!.forEach((want, j) => {
              const got = logits.data[i * k + j]!;
              assert.ok(Math.abs(got - want) <= 1e-4, `${x.id} logit ${j}: ${got} vs PyTorch ${want}`);
            });
          });
        } finally {
          await model.close();
        }
      });
    }
  });
}

test('a hub repository with only a sharded .bin is fetched as index + shards', () => {
  const r = pickFiles(['config.json', 'tokenizer.json', 'pytorch_model.bin.index.json', 'pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin', 'tf_model.h5']);
  assert.deepEqual(r, { files: ['config.json', 'tokenizer.json', 'pytorch_model.bin.index.json'], shardedIndex: 'pytorch_model.bin.index.json' });
});
