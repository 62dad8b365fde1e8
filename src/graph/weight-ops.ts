import type { Tensor, TensorStore } from '../checkpoint/tensor-store.js';
import { transpose2d } from './bert-graph.js';
import { attr, type GraphBuilder } from './onnx-builder.js';

/**
 * The weight-reading building blocks every family's emitter shares: a Linear (Hugging Face
 * [out, in] weight, optional bias), a LayerNorm (optional bias), read by tensor name from a store.
 * Initializers and nodes are named `scope.` + the tensor name, so two members share one graph.
 * Nodes of layer i should be hinted `l<i>_…`: quantisation selects encoder layers by that name.
 */
export class WeightOps {
  private readonly s: string;
  /** Initializer per tensor (and per transposed weight), so a weight used twice is stored once. */
  private readonly cache = new Map<string, string>();

  constructor(
    readonly g: GraphBuilder,
    readonly tensors: TensorStore,
    scope: string | undefined,
  ) {
    this.s = scope ? `${scope}.` : '';
  }

  /** `hint` prefixed with the scope, for node and value names. */
  name(hint: string): string {
    return this.s + hint;
  }

  read(tensor: string): Tensor {
    return this.tensors.read(tensor);
  }

  /** The tensor as an initializer (unchanged). */
  init(tensor: string): string {
    return this.cached(tensor, () => {
      const t = this.read(tensor);
      return this.g.initializer(this.s + tensor, t.data, t.shape);
    });
  }

  private cached(key: string, make: () => string): string {
    let name = this.cache.get(key);
    if (name === undefined) {
      name = make();
      this.cache.set(key, name);
    }
    return name;
  }

  /** x · Wᵀ (+ b when `bias`): `module` names the Linear (`module.weight`, `module.bias`). */
  linear(x: string, module: string, hint: string, bias = true): string {
    const wt = this.cached(`${module}.weight_t`, () => {
      const W = this.read(`${module}.weight`);
      const [out, inp] = W.shape as [number, number];
      return this.g.initializer(`${this.s}${module}.weight_t`, transpose2d(W), [inp, out]);
    });
    const mm = this.g.op('MatMul', [x, wt], {}, { name: `${this.s}${hint}_mm` });
    return bias ? this.g.op('Add', [mm, this.init(`${module}.bias`)], {}, { name: `${this.s}${hint}` }) : mm;
  }

  /** LayerNorm over the last axis; without `bias` the optional B input is left out (bias-free norms). */
  layerNorm(x: string, module: string, eps: number, bias = true): string {
    const inputs = [x, this.init(`${module}.weight`), ...(bias ? [this.init(`${module}.bias`)] : [])];
    return this.g.op('LayerNormalization', inputs, { axis: attr.int(-1), epsilon: attr.float(eps) }, { name: `${this.s}${module}` });
  }

  /** [batch, S] ids → [S] positions 0..S−1 as int64. */
  positions(inputIds: string): string {
    const shape = this.g.op('Shape', [inputIds], {}, { name: this.name('ids_shape') });
    const seqLen = this.g.op('Gather', [shape, this.g.constInt64([1], [], this.name('one'))], { axis: attr.int(0) }, { name: this.name('seq_len') });
    return this.g.op('Range', [this.g.constInt64([0], [], this.name('zero')), seqLen, this.g.constInt64([1], [], this.name('step'))], {}, { name: this.name('positions') });
  }
}

/** float32.min, the value Hugging Face puts into masked attention scores. */
export const MASK_VALUE = -3.4028234663852886e38;
