import path from 'node:path';
import { familyOf } from '../architectures/registry.js';
import type { Checkpoint } from '../checkpoint/load.js';
import type { Tensor } from '../checkpoint/tensor-store.js';
import { BertfuseError } from '../errors.js';
import { permuteByParts, tensorAxes, type FamilyAlignment } from './axis-parts.js';
import type { Permutations } from './permutation.js';

/**
 * The aligner's only view of a family: the permutation rules its module in src/architectures/
 * declares (Family.alignment). A family without rules is refused here, once, naming the file.
 */
export function alignmentOf(ckpt: Checkpoint): FamilyAlignment {
  const cfg = ckpt.config;
  const rules = familyOf(cfg).alignment?.(cfg);
  if (!rules) throw new BertfuseError('E_INCOMPATIBLE', `${cfg.architecture} (${cfg.family}) declares no permutation rules, so it cannot be aligned; use align: none`, path.join(ckpt.dir, 'config.json'));
  return rules;
}

/** One tensor (by canonical name) with every axis permuted as the rules say; the input array when nothing moves. */
export function permuteNamed(alignment: FamilyAlignment, name: string, t: Tensor, perms: Permutations): Float32Array {
  return permuteByParts(t, tensorAxes(alignment, name), perms);
}
