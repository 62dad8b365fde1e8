import { BertfuseError } from '../errors.js';
import { breadcrumbs } from './breadcrumbs.js';
import { breadcrumbsTies } from './breadcrumbs-ties.js';
import { dareLinear } from './dare-linear.js';
import { della } from './della.js';
import { dellaLinear } from './della-linear.js';
import { modelStock } from './model-stock.js';
import { nuslerp } from './nuslerp.js';
import { dareTies } from './dare-ties.js';
import { fisher } from './fisher.js';
import { linear } from './linear.js';
import { regmean } from './regmean.js';
import { slerp } from './slerp.js';
import { taskArithmetic } from './task-arithmetic.js';
import { ties } from './ties.js';
import type { MergeMethod } from './types.js';

/** Every merge method, in one explicit list (no registration by import side effects). */
export const MERGE_METHODS: readonly MergeMethod[] = [
  linear,
  slerp,
  nuslerp,
  taskArithmetic,
  ties,
  dareLinear,
  dareTies,
  breadcrumbs,
  breadcrumbsTies,
  della,
  dellaLinear,
  modelStock,
  regmean,
  fisher,
];

export function mergeMethod(name: string, source?: string): MergeMethod {
  const m = MERGE_METHODS.find((x) => x.name === name);
  if (!m) throw new BertfuseError('E_BAD_RECIPE', `unknown merge_method "${name}" (known: ${MERGE_METHODS.map((x) => x.name).join(', ')})`, source);
  return m;
}
