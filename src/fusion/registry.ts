import { BertfuseError } from '../errors.js';
import { cascade } from './cascade.js';
import { concat } from './concat.js';
import { mean } from './mean.js';
import { geometricMean } from './geometric-mean.js';
import { stack } from './stack.js';
import type { FusionMethod, FusionParams } from './types.js';
import { vote } from './vote.js';
import { weighted } from './weighted.js';

/** Every output-level fusion method, in the order tables list them (cheapest ideas first). */
export const FUSION_METHODS: readonly FusionMethod[] = [mean, weighted, vote, geometricMean, stack, concat, cascade];

export function getFusionMethod(name: string): FusionMethod<FusionParams> {
  const m = findFusionMethod(FUSION_METHODS, name);
  if (!m) throw new BertfuseError('E_BAD_RECIPE', `unknown fusion method "${name}" (known: ${FUSION_METHODS.map((x) => x.name).join(', ')})`);
  return m;
}

/** A method by its name or one of its earlier names. */
export function findFusionMethod(registry: readonly FusionMethod[], name: string): FusionMethod | undefined {
  return registry.find((x) => x.name === name) ?? registry.find((x) => x.aliases?.includes(name));
}
