import type { Checkpoint } from '../checkpoint/load.js';
import type { Tensor } from '../checkpoint/tensor-store.js';
import type { FamilyAlignment } from '../align/axis-parts.js';
import { gather, type Permutations } from '../align/permutation.js';
import { alignmentOf, permuteNamed } from '../align/rules.js';
import { BertfuseError } from '../errors.js';
import { fromCanonical, toCanonical } from '../architectures/canonical.js';
import { familyOf } from '../architectures/registry.js';

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

  /** The checkpoint's own name of a canonical tensor (architectures/canonical.ts). */
  storeName(canonical: string): string {
    return fromCanonical(familyOf(this.ckpt.config), this.ckpt.prefix, canonical);
  }

  /** Canonical names of the tensors this checkpoint holds (buffers such as position_ids, tied decoders left out). */
  canonicalNames(): string[] {
    const family = familyOf(this.ckpt.config);
    return this.ckpt.tensors
      .names()
      .filter((n) => !/position_ids$/.test(n) && !/^lm_head\.decoder\./.test(n))
      .map((n) => toCanonical(family, this.ckpt.prefix, n))
      .sort();
  }

  /**
   * Part of the shared encoder (merged once; each task keeps the rest): BERT's `bert.` names bar the
   * pooler for families with BERT's names (the pooler is the head's dense layer), else the tensors
   * under the checkpoint's encoder prefix (ModernBERT's `model.`, DeBERTa's `deberta.`).
   */
  isEncoder(canonical: string): boolean {
    if (familyOf(this.ckpt.config).bertNames) return canonical.startsWith('bert.') && !canonical.startsWith('bert.pooler.');
    return this.ckpt.prefix !== '' && canonical.startsWith(this.ckpt.prefix);
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

  /** The family's permutation rules (alignment.ts refuses a family without them). */
  get alignment(): FamilyAlignment {
    return alignmentOf(this.ckpt);
  }

  /** Label order and permutations applied: what the merge methods see. */
  read(canonical: string): Float32Array {
    const t = this.readLabelAligned(canonical);
    if (!this.perms.size) return t.data;
    const rules = this.alignment;
    if (!rules.axes(canonical)) {
      throw new BertfuseError('E_INCOMPATIBLE', `cannot align tensor "${this.storeName(canonical)}": no permutation rule keeps a ${this.ckpt.config.family} model's function for it`, this.ckpt.tensors.source);
    }
    return permuteNamed(rules, canonical, t, this.perms);
  }
}
