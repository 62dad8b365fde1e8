import fs from 'node:fs';
import path from 'node:path';
import { DTYPE_BYTES } from './dtype.js';
import type { Checkpoint } from './load.js';
import { numel } from './tensor-store.js';

export interface CheckpointDescription {
  readonly dir: string;
  readonly architecture: string;
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly parameters: number;
  readonly weightFiles: readonly string[];
  readonly weightBytes: number;
  readonly dtypes: readonly string[];
  readonly labels: readonly string[] | null;
  readonly tokenizer: { readonly source: string; readonly vocabSize: number; readonly maxLength: number };
}

/** Everything `inspect` shows, from headers only (no tensor bytes read). */
export function describeCheckpoint(c: Checkpoint): CheckpointDescription {
  let parameters = 0;
  let weightBytes = 0;
  const dtypes = new Set<string>();
  for (const n of c.tensors.names()) {
    const info = c.tensors.info(n);
    const count = numel(info.shape);
    parameters += count;
    weightBytes += count * DTYPE_BYTES[info.dtype];
    dtypes.add(info.dtype);
  }
  const cfg = c.config;
  return {
    dir: c.dir,
    architecture: cfg.architecture,
    numLayers: cfg.numLayers,
    hiddenSize: cfg.hiddenSize,
    numHeads: cfg.numHeads,
    intermediateSize: cfg.intermediateSize,
    vocabSize: cfg.vocabSize,
    maxPositions: cfg.maxPositions,
    parameters,
    weightFiles: c.weightFiles.map((f) => path.basename(f)),
    weightBytes: weightBytes || c.weightFiles.reduce((s, f) => s + fs.statSync(f).size, 0),
    dtypes: [...dtypes].sort(),
    labels: cfg.labels,
    tokenizer: { source: tokenizerSource(c.tokenizer.files), vocabSize: c.tokenizer.vocabSize, maxLength: c.tokenizer.maxLength },
  };
}

/** Which of a folder's tokenizer files the ids come from (tokenizer.json first, as the loader reads them). */
function tokenizerSource(files: Readonly<Record<string, string>>): string {
  return ['tokenizer.json', 'vocab.txt', 'sentencepiece.bpe.model', 'spm.model'].find((f) => files[f]) ?? 'vocab.json + merges.txt';
}
