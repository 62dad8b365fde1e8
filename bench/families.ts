import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEBERTA_V3_BASE_CONFIG } from '../src/architectures/deberta-v2.js';
import { MODERNBERT_BASE_CONFIG } from '../src/architectures/modernbert.js';
import { getFamily, parseModelConfig } from '../src/architectures/registry.js';
import type { ModelConfig } from '../src/architectures/types.js';
import { toHfConfig } from '../src/checkpoint/config.js';
import { writeSafetensors } from '../src/checkpoint/safetensors.js';
import { numel } from '../src/checkpoint/tensor-store.js';
import { tokenizerJsonFromVocab } from '../src/checkpoint/tokenizer.js';
import { Rng, seedFor } from '../src/util/rng.js';
import type { BenchSize } from './models.js';

/**
 * Random-weight checkpoints of the other BERT-shaped families at their published base shapes
 * (distilbert-base-uncased, roberta-base, microsoft/deberta-v3-base, answerdotai/ModernBERT-base),
 * or tiny for the smoke test, written in the Hugging Face layout so they load like any folder.
 * Never committed. Tokenizers come from the family fixtures (only the graph is timed, on random ids).
 */
export type BenchFamily = 'distilbert' | 'roberta' | 'deberta-v2' | 'modernbert';
export const BENCH_FAMILIES: readonly BenchFamily[] = ['distilbert', 'roberta', 'deberta-v2', 'modernbert'];

/** The published model each base shape copies, for the report. */
export const BASE_NAMES: Readonly<Record<BenchFamily | 'bert', string>> = {
  bert: 'bert-base',
  distilbert: 'distilbert-base',
  roberta: 'roberta-base',
  'deberta-v2': 'deberta-v3-base',
  modernbert: 'modernbert-base',
};

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FAMILY_FIXTURES = path.join(HERE, '..', 'fixtures', 'family');
const BERT_VOCAB = path.join(HERE, '..', 'assets', 'bert-base-uncased-vocab.txt');
/** Fixture whose tokenizer files a family's random checkpoint borrows (null: BERT's WordPiece vocabulary). */
const TOKENIZER_FROM: Readonly<Record<BenchFamily, string | null>> = { distilbert: null, roberta: 'roberta-sst2-a', 'deberta-v2': 'deberta-sst2', modernbert: 'modernbert-sst2' };

/** config.json of each family at base size, then at tiny size (two labels). */
function rawConfig(family: BenchFamily, size: BenchSize): Record<string, unknown> {
  const base = size === 'base';
  const bertLike = base ? { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 } : { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256 };
  switch (family) {
    case 'distilbert':
      return { architectures: ['DistilBertForSequenceClassification'], model_type: 'distilbert', dim: base ? 768 : 64, n_layers: base ? 6 : 2, n_heads: base ? 12 : 4, hidden_dim: base ? 3072 : 256, vocab_size: base ? 30522 : 8192, max_position_embeddings: 512 };
    case 'roberta':
      return { architectures: ['RobertaForSequenceClassification'], model_type: 'roberta', ...bertLike, vocab_size: base ? 50265 : 6000, max_position_embeddings: base ? 514 : 130, type_vocab_size: 1, pad_token_id: 1, layer_norm_eps: 1e-5 };
    case 'deberta-v2':
      return base
        ? { architectures: ['DebertaV2ForSequenceClassification'], ...DEBERTA_V3_BASE_CONFIG }
        : { architectures: ['DebertaV2ForSequenceClassification'], ...DEBERTA_V3_BASE_CONFIG, ...bertLike, vocab_size: 8188, max_position_embeddings: 128, position_buckets: 32 };
    case 'modernbert':
      // The fixture tokenizer's [PAD] is 8190: the base shape's pad id follows it (it is only a mask here).
      return base
        ? { architectures: ['ModernBertForSequenceClassification'], ...MODERNBERT_BASE_CONFIG, pad_token_id: 8190 }
        : { architectures: ['ModernBertForSequenceClassification'], ...MODERNBERT_BASE_CONFIG, hidden_size: 64, num_hidden_layers: 3, num_attention_heads: 4, intermediate_size: 128, vocab_size: 8192, max_position_embeddings: 128, local_attention: 16, pad_token_id: 8190 };
  }
}

export function benchFamilyConfig(family: BenchFamily, size: BenchSize): ModelConfig {
  return parseModelConfig({ ...rawConfig(family, size), id2label: { 0: 'negative', 1: 'positive' } }, `${family} (${size})`);
}

/** Writes the folder and returns its config. */
export function createFamilyCheckpoint(dir: string, family: BenchFamily, size: BenchSize, seed = 1): ModelConfig {
  const cfg = benchFamilyConfig(family, size);
  const f = getFamily(cfg.family);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(toHfConfig(cfg), null, 2) + '\n');
  const tensors = [...f.expectedTensors(cfg, f.prefixes[0]!)].map(([name, shape]) => ({
    name,
    shape,
    data(): Float32Array {
      const out = new Float32Array(numel(shape));
      if (/(LayerNorm|layer_norm|norm)\.weight$/.test(name)) return out.fill(1);
      if (/\.bias$/.test(name)) return out;
      const rng = new Rng(seedFor(seed, name));
      for (let i = 0; i < out.length; i++) out[i] = rng.normal() * 0.02;
      return out;
    },
  }));
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { dtype: 'F32' });
  const from = TOKENIZER_FROM[family];
  if (from) {
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) fs.copyFileSync(path.join(FAMILY_FIXTURES, from, file), path.join(dir, file));
  } else {
    const vocab = fs.readFileSync(BERT_VOCAB, 'utf8').split('\n').filter((l) => l.length > 0).slice(0, cfg.vocabSize);
    const tc = { tokenizer_class: 'DistilBertTokenizer', do_lower_case: true, model_max_length: 512 };
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJsonFromVocab(vocab, tc)));
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tc));
  }
  return cfg;
}
