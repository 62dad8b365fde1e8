import { familyOf } from '../architectures/registry.js';
import type { EmitOptions, EncoderInputs, EncoderOutputs, ModelWeights } from '../architectures/types.js';
import type { GraphBuilder } from './onnx-builder.js';

/**
 * The encoder emitter's entry point, for any family: the config's family (src/architectures/)
 * emits its encoder and head from the shared blocks in encoder-blocks.ts. The names here are the
 * ones from before families (`emitBert`, `BertWeights`) and stay as the public API.
 */
export { PLAIN_OPS, FUSED_OPS, DEFAULT_OPS, transpose2d, activation, type EncoderOps } from './encoder-blocks.js';
export type { EmitOptions, EncoderInputs, EncoderOutputs, ModelWeights } from '../architectures/types.js';
/** Weights as the emitter sees them (any family); the name from before families. */
export type BertWeights = ModelWeights;

/** Emits the model's encoder and whichever head it has, as its family writes them. */
export function emitEncoder(g: GraphBuilder, w: ModelWeights, inputs: EncoderInputs, opts: EmitOptions = {}): EncoderOutputs {
  return familyOf(w.config).emit(g, w, inputs, opts);
}
/** Alias of emitEncoder (any family). */
export const emitBert = emitEncoder;
