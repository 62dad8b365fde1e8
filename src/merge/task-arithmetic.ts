import { gtaMethod } from './gta.js';

/** θ = θ_base + λ Σ w_i (θ_i − θ_base): add the members' task vectors to the base (Ilharco et al., 2023). */
export const taskArithmetic = gtaMethod({
  name: 'task_arithmetic',
  summary: 'base + λ · weighted sum of task vectors (θ_i − θ_base)',
  sparsification: null,
  consensus: false,
  normalize: false,
  rescale: false,
});
