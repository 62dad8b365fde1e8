import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTempDir } from '../util/atomic.js';
import { Rng, seedFor } from '../util/rng.js';
import { expectedTensors } from './bert-names.js';
import { parseBertConfig, toHfConfig } from './config.js';
import { writeSafetensors, type WriteDType } from './safetensors.js';
import { numel } from './tensor-store.js';
import { tokenizerJsonFromVocab } from './tokenizer.js';

export interface RandomCheckpointOptions {
  readonly hiddenSize?: number;
  readonly numLayers?: number;
  readonly numHeads?: number;
  readonly intermediateSize?: number;
  readonly vocabSize?: number;
  readonly maxPositions?: number;
  /** Label names; default ["negative", "positive"]. Empty list → BertModel (no head). */
  readonly labels?: readonly string[];
  readonly seed?: number;
  readonly dtype?: WriteDType;
  /** Standard deviation of the normal init (BERT's initializer_range). */
  readonly initRange?: number;
}

/** BERT-base: 12 layers, hidden 768, 12 heads, FFN 3072, vocabulary 30,522. */
export const BERT_BASE: RandomCheckpointOptions = { hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, vocabSize: 30522, maxPositions: 512 };

const ASSET_VOCAB = fileURLToPath(new URL('../../assets/bert-base-uncased-vocab.txt', import.meta.url));

/**
 * Writes a random-weight BERT classifier in the real Hugging Face layout (config.json,
 * model.safetensors, tokenizer.json, tokenizer_config.json, vocab.txt), streaming tensor by tensor
 * so BERT-base sizes never sit in memory twice. The vocabulary is bert-base-uncased's first
 * `vocabSize` entries.
 */
export async function createRandomCheckpoint(dir: string, opts: RandomCheckpointOptions = {}): Promise<void> {
  const labels = opts.labels ?? ['negative', 'positive'];
  const vocabSize = opts.vocabSize ?? 8192;
  const raw = {
    architectures: [labels.length ? 'BertForSequenceClassification' : 'BertModel'],
    model_type: 'bert',
    hidden_size: opts.hiddenSize ?? 64,
    num_hidden_layers: opts.numLayers ?? 2,
    num_attention_heads: opts.numHeads ?? 4,
    intermediate_size: opts.intermediateSize ?? 256,
    vocab_size: vocabSize,
    max_position_embeddings: opts.maxPositions ?? 128,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    hidden_act: 'gelu',
    pad_token_id: 0,
    initializer_range: opts.initRange ?? 0.02,
    ...(labels.length
      ? { id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])), label2id: Object.fromEntries(labels.map((l, i) => [l, i])) }
      : {}),
  };
  const cfg = parseBertConfig(raw, path.join(dir, 'config.json'));
  const prefix = labels.length ? 'bert.' : '';
  const seed = opts.seed ?? 0;
  const std = opts.initRange ?? 0.02;
  const tensors = [...expectedTensors(cfg, prefix)].map(([name, shape]) => ({
    name,
    shape,
    data(): Float32Array {
      const out = new Float32Array(numel(shape));
      // LayerNorm weights start at 1 and biases at 0, as in BERT's init; everything else N(0, std).
      if (/LayerNorm\.weight$/.test(name)) return out.fill(1);
      if (/\.bias$/.test(name)) return out;
      const rng = new Rng(seedFor(seed, name));
      for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
      return out;
    },
  }));
  const allVocab = fs.readFileSync(ASSET_VOCAB, 'utf8').split('\n').filter((l) => l.length > 0);
  const vocab = allVocab.slice(0, vocabSize);
  // BERT's vocab keeps [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103; a small vocab must still hold them.
  for (const special of ['[UNK]', '[CLS]', '[SEP]', '[MASK]']) if (!vocab.includes(special)) vocab[vocab.length - 1 - ['[UNK]', '[CLS]', '[SEP]', '[MASK]'].indexOf(special)] = special;
  const tokenizerConfig = { tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: cfg.maxPositions, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]' };
  await withTempDir(dir, (tmp) => {
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(toHfConfig(cfg), null, 2) + '\n');
    writeSafetensors(path.join(tmp, 'model.safetensors'), tensors, { dtype: opts.dtype ?? 'F32' });
    fs.writeFileSync(path.join(tmp, 'vocab.txt'), vocab.join('\n') + '\n');
    fs.writeFileSync(path.join(tmp, 'tokenizer.json'), JSON.stringify(tokenizerJsonFromVocab(vocab, tokenizerConfig)));
    fs.writeFileSync(path.join(tmp, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2) + '\n');
  }, { kind: 'random-checkpoint' });
}
