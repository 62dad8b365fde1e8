import fs from 'node:fs';
import path from 'node:path';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { buildBertModel, type SingleModelOptions } from '../../src/graph/bert-model.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import type { TextInput } from '../../src/checkpoint/tokenizer.js';
import { DATA, reference } from '../helpers/fixtures.js';

export const SST2_DEV = path.join(DATA, 'sst2_dev.tsv');
export const UNLABELLED = [path.join(DATA, 'rt-polarity-sample.pos'), path.join(DATA, 'rt-polarity-sample.neg')];

/** The 36 reference inputs (SST-2 dev rows and edge cases, including a pair and a 300-word text). */
export function referenceInputs(): TextInput[] {
  return reference('sst2-sibling-a').inputs.map((r) => ({ text: r.text, textPair: r.text_pair }));
}

/** Logits of an HF folder, reloaded from its safetensors and run through a freshly built graph (`{ quantize: 'int8' }`: as `predict --quantize int8`). */
export async function folderLogits(dir: string, inputs: readonly TextInput[], opts: SingleModelOptions = {}): Promise<Float32Array> {
  const ckpt = loadCheckpoint(dir);
  try {
    const runner = await GraphRunner.create(encodeModel(buildBertModel(ckpt, opts)), [{ suffix: '', tokenizer: ckpt.tokenizer }], { threads: 1 });
    try {
      return (await runner.run(inputs, { outputs: ['logits'] }))['logits']!.data;
    } finally {
      await runner.close();
    }
  } finally {
    ckpt.close();
  }
}

/** One output of an exported model.onnx (tokenised with the given folder's tokenizer). */
export async function onnxLogits(file: string, tokenizerDir: string, output: string, inputs: readonly TextInput[]): Promise<Float32Array> {
  const ckpt = loadCheckpoint(tokenizerDir);
  try {
    const runner = await GraphRunner.create(file, [{ suffix: '', tokenizer: ckpt.tokenizer }], { threads: 1 });
    try {
      return (await runner.run(inputs, { outputs: [output] }))[output]!.data;
    } finally {
      await runner.close();
    }
  } finally {
    ckpt.close();
  }
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}
