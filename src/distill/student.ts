import type { BertConfig } from '../checkpoint/config.js';
import { loadCheckpoint, type Checkpoint } from '../checkpoint/load.js';
import type { Tensor, TensorInfo, TensorStore } from '../checkpoint/tensor-store.js';
import { BertfuseError } from '../errors.js';
import type { BertWeights } from '../graph/bert-graph.js';
import { familyOf } from '../architectures/registry.js';
import type { Family } from '../architectures/types.js';

/** The model being trained: a member's weights, or a shallower copy of them. */
export interface Student {
  readonly ckpt: Checkpoint;
  readonly weights: BertWeights;
  readonly config: BertConfig;
  /** Layers of the source kept (in order), or null when all are. */
  readonly keptLayers: readonly number[] | null;
}

/**
 * `layers` of the source's L layers, evenly spaced from the bottom: L/2 gives every other layer
 * (0, 2, 4, …), DistilBERT's initialisation (Sanh et al. 2019).
 */
export function pickLayers(total: number, layers: number): number[] {
  return Array.from({ length: layers }, (_, i) => Math.floor((i * total) / layers));
}

export function loadStudent(dir: string, layers?: number): Student {
  const ckpt = loadCheckpoint(dir);
  const cfg = ckpt.config;
  if (cfg.task !== 'classify' || !cfg.labels) {
    ckpt.close();
    throw new BertfuseError('E_UNSUPPORTED_ARCH', `the student must be a sequence classifier, not ${cfg.architecture}`, dir);
  }
  if (layers === undefined || layers === cfg.numLayers) return { ckpt, weights: ckpt, config: cfg, keptLayers: null };
  if (!Number.isInteger(layers) || layers < 1 || layers > cfg.numLayers) {
    ckpt.close();
    throw new BertfuseError('E_USAGE', `--student-layers must be an integer from 1 to ${cfg.numLayers} (the student's layer count), got ${layers}`);
  }
  const kept = pickLayers(cfg.numLayers, layers);
  const family = familyOf(cfg);
  // Per-layer settings follow their layers (ModernBERT's global/sliding pattern).
  const types = cfg.extra['layerTypes'];
  const extra = Array.isArray(types) ? { ...cfg.extra, layerTypes: kept.map((i) => types[i] as string) } : cfg.extra;
  const config: BertConfig = { ...cfg, numLayers: layers, extra, raw: { ...cfg.raw, ...family.hfFields({ ...cfg, numLayers: layers, extra }) } };
  const tensors = new LayerSubsetStore(ckpt.tensors, ckpt.prefix, layerTemplate(family), kept);
  return { ckpt, weights: { config, prefix: ckpt.prefix, tensors }, config, keptLayers: kept };
}

/**
 * Where a family numbers its layers, from its layer probe: `encoder.layer.` (BERT, RoBERTa, ELECTRA,
 * DeBERTa), `transformer.layer.` (DistilBERT), `layers.` (ModernBERT).
 */
function layerTemplate(family: Family): string {
  const probe = family.layerProbe(987654321);
  return probe.slice(0, probe.indexOf('987654321'));
}

/** A view of a store with only some encoder layers, renumbered 0…n−1. */
class LayerSubsetStore implements TensorStore {
  readonly source: string;
  private readonly map = new Map<string, string>();
  constructor(
    private readonly inner: TensorStore,
    prefix: string,
    template: string,
    kept: readonly number[],
  ) {
    this.source = inner.source;
    const escape = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const layer = new RegExp(`^${escape(prefix + template)}(\\d+)\\.(.*)$`);
    for (const name of inner.names()) {
      const m = layer.exec(name);
      if (!m) {
        this.map.set(name, name);
        continue;
      }
      const j = kept.indexOf(Number(m[1]));
      if (j >= 0) this.map.set(`${prefix}${template}${j}.${m[2]}`, name);
    }
  }
  names(): string[] {
    return [...this.map.keys()];
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  info(name: string): TensorInfo {
    return { ...this.inner.info(this.resolve(name)), name };
  }
  read(name: string): Tensor {
    return this.inner.read(this.resolve(name));
  }
  close(): void {
    this.inner.close();
  }
  private resolve(name: string): string {
    const n = this.map.get(name);
    if (n === undefined) throw new BertfuseError('E_MISSING_TENSOR', `no tensor "${name}"`, this.source);
    return n;
  }
}
