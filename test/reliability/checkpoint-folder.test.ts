import path from 'node:path';
import { describe, test } from 'node:test';
import { CONFIG_CASES, TOKENIZER_CASES, WEIGHTS_FOLDER_CASES, expectRefused, type FolderCase } from '../helpers/corrupt.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { CHECKPOINT_CONSUMERS, outputsOf, stageFixture } from './consumers.js';

const root = tempDir('bertfuse-rel-folder-');
let n = 0;

/** Each case damages its own copy of sst2-sibling-a, then every consumer must refuse it before writing. */
function run(cases: readonly FolderCase[]): void {
  for (const c of cases) {
    test(c.name, async () => {
      const dir = stageFixture(fixture('sst2-sibling-a'), path.join(root, `case-${n++}`));
      const names = c.mutate(dir);
      for (const consumer of CHECKPOINT_CONSUMERS) {
        const out = path.join(root, `out-${n}`, 'model.onnx');
        await expectRefused(() => consumer.run(dir, out), { code: c.code, names, pattern: c.pattern }, outputsOf(out), consumer.name);
      }
    });
  }
}

describe('config.json: damaged configs are refused', () => run(CONFIG_CASES));
describe('tokenizer files: damaged tokenizers are refused', () => run(TOKENIZER_CASES));
describe('weights in a folder: missing, misnamed, mis-shaped, badly sharded', () => run(WEIGHTS_FOLDER_CASES));
