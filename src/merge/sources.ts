import type { Checkpoint } from '../checkpoint/load.js';
import type { Tensor } from '../checkpoint/tensor-store.js';
import { gather, permutationAxes, permuteTensor, type Permutations } from '../align/permutation.js';
import { BertfuseError } from '../errors.js';

/**
 * One checkpoint taking part in a merge, seen through canonical tensor names (`bert.`-prefixed
 * encoder names, `classifier.*`), with its label order and unit permutations applied on read.
 * Nothing is cached: each read goes to the (lazy) store, so the driver holds only what it merges.
 */
export class MergeSource {
  /** For a merged head: row j of the classifier is the member's class `labelOrder[j]`. */
  labelOrder: readonly number[] | null = null;
  /** A base_model whose classifier has other labels: its pooler and classifier are not used. */
  headless = false;
  perms: Permutations = new Map();

  constructor(
    readonly ckpt: Checkpoint,
    readonly role: 'member' | 'base',
  ) {}

  get name(): string {
    return this.ckpt.name;
  }

  storeName(canonical: string): string {
    return canonical.startsWith('bert.') ? this.ckpt.prefix + canonical.slice('bert.'.length) : canonical;
  }

  /** Canonical names of the tensors this checkpoint holds (buffers such as position_ids left out). */
  canonicalNames(): string[] {
    const p = this.ckpt.prefix;
    return this.ckpt.tensors
      .names()
      .filter((n) => !/position_ids$/.test(n))
      .map((n) => (n.startsWith('classifier.') || n.startsWith('cls.') ? n : p === '' ? `bert.${n}` : n.startsWith(p) ? `bert.${n.slice(p.length)}` : n))
      .sort();
  }

  has(canonical: string): boolean {
    return this.ckpt.tensors.has(this.storeName(canonical));
  }

  /** The tensor in the member's own unit order, classifier rows in the merged label order. */
  readLabelAligned(canonical: string): Tensor {
    const t = this.ckpt.tensors.read(this.storeName(canonical));
    if (this.labelOrder && (canonical === 'classifier.weight' || canonical === 'classifier.bias')) {
      return { shape: t.shape, data: gather(t, Int32Array.from(this.labelOrder), null) };
    }
    return t;
  }

  /** Label order and permutations applied: what the merge methods see. */
  read(canonical: string): Float32Array {
    const t = this.readLabelAligned(canonical);
    if (!this.perms.size) return t.data;
    try {
      permutationAxes(canonical);
    } catch {
      throw new BertfuseError('E_INCOMPATIBLE', `cannot align tensor "${canonical}": it is not part of a BERT classifier's permutation table`, this.ckpt.tensors.source);
    }
    return permuteTensor(canonical, t, this.perms);
  }
}
