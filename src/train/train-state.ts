import fs from 'node:fs';
import { SafetensorsFile, writeSafetensors } from '../checkpoint/safetensors.js';
import { BertfuseError } from '../errors.js';
import type { AdamWState } from './adamw.js';
import type { TrainableParam } from './training-graph.js';

/** What resuming needs besides tensors: where in the schedule we were, and what run this was. */
export interface TrainStateMeta {
  /** Optimizer steps done. */
  readonly step: number;
  /** Steps the schedule was planned for. */
  readonly totalSteps: number;
  /** Fingerprint of the run (seed, data, options): a checkpoint of another run is refused. */
  readonly run: string;
  readonly lastLoss: number;
}

/**
 * Weights and AdamW moments in one safetensors file (`w.`, `m.`, `v.` + parameter name), step and run
 * fingerprint in its metadata. Written through a temp file and rename, so a crash mid-write leaves
 * the previous checkpoint intact.
 */
export function saveTrainState(file: string, params: readonly TrainableParam[], weights: readonly Float32Array[], opt: AdamWState, meta: TrainStateMeta): void {
  const tensors = params.flatMap((p, k) =>
    (['w', 'm', 'v'] as const).map((kind) => ({
      name: `${kind}.${p.input}`,
      shape: p.dims,
      data: () => (kind === 'w' ? weights[k]! : kind === 'm' ? opt.m[k]! : opt.v[k]!),
    })),
  );
  writeSafetensors(file, tensors, {
    metadata: { bertfuse_train_state: '1', step: String(meta.step), total_steps: String(meta.totalSteps), run: meta.run, last_loss: String(meta.lastLoss) },
  });
}

export interface LoadedTrainState {
  readonly meta: TrainStateMeta;
  readonly weights: Float32Array[];
  readonly opt: AdamWState;
}

export function loadTrainState(file: string, params: readonly TrainableParam[], run: string): LoadedTrainState {
  if (!fs.existsSync(file)) throw new BertfuseError('E_MISSING_FILE', 'no training checkpoint to resume from', file);
  const f = SafetensorsFile.open(file);
  try {
    const md = f.metadata;
    if (md['bertfuse_train_state'] !== '1') throw new BertfuseError('E_BAD_INPUT', 'not a bertfuse training checkpoint', file);
    if (md['run'] !== run) throw new BertfuseError('E_BAD_INPUT', 'this checkpoint belongs to another run (different data, seed or options): remove it or change --checkpoint', file);
    const read = (kind: string): Float32Array[] => params.map((p) => Float32Array.from(f.read(`${kind}.${p.input}`).data));
    const meta: TrainStateMeta = { step: Number(md['step']), totalSteps: Number(md['total_steps']), run, lastLoss: Number(md['last_loss']) };
    return { meta, weights: read('w'), opt: { step: meta.step, m: read('m'), v: read('v') } };
  } finally {
    f.close();
  }
}
