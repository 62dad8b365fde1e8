import type { TextInput } from '../checkpoint/tokenizer.js';
import { MemoryTensorStore } from '../checkpoint/tensor-store.js';
import { diagonalFisher } from '../train/fisher.js';
import { MergeSource } from './sources.js';

/**
 * Each member's diagonal Fisher on the texts (through the training path's per-example gradients),
 * read back through a MergeSource twin so it gets the member's label order and unit permutations:
 * permuting a weight permutes its Fisher the same way.
 */
export class FisherStore {
  private constructor(private readonly twins: readonly MergeSource[]) {}

  static async collect(sources: readonly MergeSource[], texts: readonly TextInput[], opts: { threads?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<FisherStore> {
    const twins: MergeSource[] = [];
    for (const [i, s] of sources.entries()) {
      const rows = texts.map((t) => s.ckpt.tokenizer.encode(t));
      const fisher = await diagonalFisher(s.ckpt, rows, s.ckpt.tokenizer.padId, {
        ...(opts.threads ? { runtime: { threads: opts.threads } } : {}),
        ...(opts.onProgress ? { onProgress: (d: number, t: number) => opts.onProgress!(i * t + d, t * sources.length) } : {}),
      });
      const store = new MemoryTensorStore(new Map([...fisher].map(([name, data]) => [name, { shape: s.ckpt.tensors.info(name).shape, data }])), `${s.ckpt.dir} (Fisher)`);
      const twin = new MergeSource({ ...s.ckpt, tensors: store }, s.role);
      twin.labelOrder = s.labelOrder;
      twin.perms = s.perms;
      twins.push(twin);
    }
    return new FisherStore(twins);
  }

  /** Every member's Fisher of this tensor, aligned like the weights the method sees. */
  forTensor(canonical: string): Float32Array[] | null {
    if (!this.twins.every((t) => t.has(canonical))) return null;
    return this.twins.map((t) => t.read(canonical));
  }
}
