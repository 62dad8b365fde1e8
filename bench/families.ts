import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFamily } from '../src/architectures/registry.js';
import type { ModelConfig } from '../src/architectures/types.js';
import { toHfConfig } from '../src/checkpoint/config.js';
import { writeSafetensors } from '../src/checkpoint/safetensors.js';
import { numel } from '../src/checkpoint/tensor-store.js';
import { tokenizerJsonFromVocab } from '../src/checkpoint/tokenizer.js';
import { Rng, seedFor } from '../src/util/rng.js';
import type { BenchSize } from './models.js';

/**
 * Random-weight checkpoints of the other BERT-shaped families at base size (distilbert-base:
 * 6 layers; roberta-base: 12 layers, 50,265 tokens, 514 positions), or tiny for the smoke test,
 * written in the Hugging Face layout so they load like any folder. Never committed.
 */
export type BenchFamily = 'distilbert' | 'roberta';
export const BENCH_FAMILIES: readonly BenchFamily[] = ['distilbert', 'roberta'];

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROBERTA_TOKENIZER = path.join(HERE, '..', 'fixtures', 'family', 'roberta-sst2-a');
const BERT_VOCAB = path.join(HERE, '..', 'assets', 'bert-base-uncased-vocab.txt');

function shapes(family: BenchFamily, size: BenchSize): ModelConfig {
  const base = size === 'base';
  const common = { architecture: '', task: 'classify' as const, hiddenSize: base ? 768 : 64, numHeads: base ? 12 : 4, intermediateSize: base ? 3072 : 256, hiddenAct: 'gelu' as const, labels: ['negative', 'positive'], extra: {}, raw: {} };
  if (family === 'distilbert') {
    return { ...common, family, architecture: 'DistilBertForSequenceClassification', numLayers: base ? 6 : 2, vocabSize: base ? 30522 : 8192, maxPositions: 512, typeVocabSize: 0, layerNormEps: 1e-12, padTokenId: 0 };
  }
  return { ...common, family, architecture: 'RobertaForSequenceClassification', numLayers: base ? 12 : 2, vocabSize: base ? 50265 : 6000, maxPositions: base ? 514 : 130, typeVocabSize: 1, layerNormEps: 1e-5, padTokenId: 1 };
}

/** Writes the folder and returns its config. */
export function createFamilyCheckpoint(dir: string, family: BenchFamily, size: BenchSize, seed = 1): ModelConfig {
  const cfg = shapes(family, size);
  const f = getFamily(family);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(toHfConfig(cfg), null, 2) + '\n');
  const tensors = [...f.expectedTensors(cfg, f.prefixes[0]!)].map(([name, shape]) => ({
    name,
    shape,
    data(): Float32Array {
      const out = new Float32Array(numel(shape));
      if (/(LayerNorm|layer_norm)\.weight$/.test(name)) return out.fill(1);
      if (/\.bias$/.test(name)) return out;
      const rng = new Rng(seedFor(seed, name));
      for (let i = 0; i < out.length; i++) out[i] = rng.normal() * 0.02;
      return out;
    },
  }));
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { dtype: 'F32' });
  if (family === 'roberta') {
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) fs.copyFileSync(path.join(ROBERTA_TOKENIZER, file), path.join(dir, file));
  } else {
    const vocab = fs.readFileSync(BERT_VOCAB, 'utf8').split('\n').filter((l) => l.length > 0).slice(0, cfg.vocabSize);
    const tc = { tokenizer_class: 'DistilBertTokenizer', do_lower_case: true, model_max_length: 512 };
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJsonFromVocab(vocab, tc)));
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tc));
  }
  return cfg;
}
