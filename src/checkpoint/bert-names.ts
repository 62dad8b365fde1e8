import type { ModelConfig } from '../architectures/types.js';
import { familyOf } from '../architectures/registry.js';

/**
 * BERT's weight names now live in its family module (src/architectures/bert.ts); these re-exports
 * keep the names from before families working.
 */
export { BERT_EMBEDDINGS, BERT_LAYER, BERT_POOLER, BERT_CLASSIFIER, MLM_HEAD, layerName } from '../architectures/bert.js';
export type { LayerModule } from '../graph/encoder-blocks.js';

/** Old TF-converted checkpoints name LayerNorm parameters gamma/beta. */
export const LEGACY_ALIASES: ReadonlyArray<readonly [string, string]> = [
  ['LayerNorm.weight', 'LayerNorm.gamma'],
  ['LayerNorm.bias', 'LayerNorm.beta'],
];

/** Every tensor a config implies, with its shape, asked of the config's family. */
export function expectedTensors(cfg: ModelConfig, prefix: string): Map<string, number[]> {
  return familyOf(cfg).expectedTensors(cfg, prefix);
}
