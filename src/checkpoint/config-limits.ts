import { BertfuseError } from '../errors.js';

/*
 * Sizes in a config.json decide how much memory is allocated (label lists, position tables, random
 * weights, graph shapes) before any weight is read, so a hostile or mistyped config could ask for
 * gigabytes. Every family's config parser calls `checkConfigLimits` with the dimensions it parsed,
 * before anything is allocated from them; the loader then checks the dimensions against the
 * weights' shapes (headers only). The limits are far above every released BERT-family model
 * (BERT-xxlarge: hidden 4096, 24 layers, FFN 16384; XLM-R: 250,002 tokens; ModernBERT: 8,192
 * positions) and far below what would exhaust memory.
 */

export interface ConfigDims {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly typeVocabSize: number;
  /** Classes of the head, or null when the model has none. */
  readonly numLabels: number | null;
  readonly padTokenId?: number;
}

export const CONFIG_LIMITS = {
  hiddenSize: 16_384,
  numLayers: 256,
  numHeads: 1_024,
  intermediateSize: 131_072,
  vocabSize: 2_000_000,
  maxPositions: 1_048_576,
  typeVocabSize: 1_024,
  numLabels: 100_000,
  /** Elements of the largest single tensor the config implies (4 GiB as float32). */
  tensorElements: 2 ** 30,
  /** Parameters the config implies in total (16 GB as float32). */
  parameters: 4e9,
} as const;

/** config.json holds sizes and a label map; 100,000 labels fit in a few MB. */
export const MAX_CONFIG_BYTES = 32 * 2 ** 20;

const FIELD: Readonly<Record<keyof typeof CONFIG_LIMITS, string>> = {
  hiddenSize: 'hidden_size',
  numLayers: 'num_hidden_layers',
  numHeads: 'num_attention_heads',
  intermediateSize: 'intermediate_size',
  vocabSize: 'vocab_size',
  maxPositions: 'max_position_embeddings',
  typeVocabSize: 'type_vocab_size',
  numLabels: 'num_labels',
  tensorElements: '',
  parameters: '',
};

/** Refuses a label count before a list of that many names is made. */
export function checkNumLabels(n: number, file: string, field = 'num_labels'): void {
  if (n > CONFIG_LIMITS.numLabels) {
    throw new BertfuseError('E_BAD_CONFIG', `${field} is ${n}, more than bertfuse supports (at most ${CONFIG_LIMITS.numLabels} labels)`, file);
  }
}

/** Each size within its limit, the sizes consistent with each other, the implied tensors allocatable. */
export function checkConfigLimits(d: ConfigDims, file: string): void {
  for (const key of ['hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'vocabSize', 'maxPositions', 'typeVocabSize'] as const) {
    const v = d[key];
    if (v > CONFIG_LIMITS[key]) {
      throw new BertfuseError('E_BAD_CONFIG', `${FIELD[key]} is ${v}, more than any supported model uses (at most ${CONFIG_LIMITS[key]}); refusing before allocating for it`, file);
    }
  }
  if (d.numLabels !== null) checkNumLabels(d.numLabels, file);
  if (d.numHeads > d.hiddenSize) throw new BertfuseError('E_BAD_CONFIG', `num_attention_heads ${d.numHeads} is larger than hidden_size ${d.hiddenSize}`, file);
  if (d.padTokenId !== undefined && d.padTokenId >= d.vocabSize) throw new BertfuseError('E_BAD_CONFIG', `pad_token_id ${d.padTokenId} is outside the vocabulary (vocab_size ${d.vocabSize})`, file);
  const H = d.hiddenSize;
  const largest: [string, number][] = [
    ['word embeddings (vocab_size x hidden_size)', d.vocabSize * H],
    ['position embeddings (max_position_embeddings x hidden_size)', d.maxPositions * H],
    ['feed-forward weight (intermediate_size x hidden_size)', d.intermediateSize * H],
    ['classifier (num_labels x hidden_size)', (d.numLabels ?? 0) * H],
  ];
  for (const [what, n] of largest) {
    if (n > CONFIG_LIMITS.tensorElements) throw new BertfuseError('E_BAD_CONFIG', `the ${what} would hold ${n} values, more than one tensor can (at most ${CONFIG_LIMITS.tensorElements})`, file);
  }
  const perLayer = 4 * H * H + 2 * H * d.intermediateSize + 9 * H + d.intermediateSize;
  const params = (d.vocabSize + d.maxPositions + d.typeVocabSize) * H + d.numLayers * perLayer + (d.numLabels ?? 0) * H;
  if (params > CONFIG_LIMITS.parameters) {
    throw new BertfuseError('E_BAD_CONFIG', `the sizes imply ${(params / 1e9).toFixed(1)} billion parameters, more than bertfuse supports (${CONFIG_LIMITS.parameters / 1e9} billion)`, file);
  }
}
