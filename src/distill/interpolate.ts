import { BertfuseError } from '../errors.js';

/**
 * Weight-space interpolation of a distilled student with the weights it started from (WiSE-FT,
 * Wortsman et al. 2022): θ = (1 − λ)·θ_start + λ·θ_distilled, tensor by tensor. λ = 1 is the
 * distilled student, λ = 0 its start. Distillation moves a member towards the teacher but also
 * forgets what only that member knew (for `sst2-stranger-b`, sentences it memorised); a point on
 * the segment between the two can keep part of both. Only meaningful when start and student have
 * the same architecture (a member or a merge start, every layer kept).
 */
export function interpolateTensor(start: Float32Array, distilled: Float32Array, lambda: number, name = ''): Float32Array {
  if (start.length !== distilled.length) throw new BertfuseError('E_INCOMPATIBLE', `cannot interpolate "${name}": ${start.length} values in the start, ${distilled.length} in the student`);
  const out = new Float32Array(start.length);
  const keep = 1 - lambda;
  for (let i = 0; i < out.length; i++) out[i] = keep * start[i]! + lambda * distilled[i]!;
  return out;
}

/** Every trained tensor interpolated with its starting value (`start(name)`, the student's own layout). */
export function interpolateWeights(
  distilled: ReadonlyMap<string, Float32Array>,
  start: (name: string) => Float32Array,
  lambda: number,
): Map<string, Float32Array> {
  checkLambda(lambda);
  return new Map([...distilled].map(([name, data]) => [name, interpolateTensor(start(name), data, lambda, name)]));
}

export function checkLambda(lambda: number): void {
  if (!Number.isFinite(lambda) || lambda < 0 || lambda > 1) throw new BertfuseError('E_USAGE', `--interpolate must be between 0 (the start) and 1 (the distilled student), got ${lambda}`);
}

/**
 * Refuses a student that is not its start's architecture: a `--student-layers` student has no
 * start of its shape to interpolate with (its layers are a subset, renumbered).
 */
export function checkInterpolable(keptLayers: readonly number[] | null, source: string): void {
  if (keptLayers !== null) {
    throw new BertfuseError('E_USAGE', `--interpolate needs a student with its start's architecture (a member or merge:<recipe>, every layer kept); this one keeps layers ${keptLayers.join(', ')} of ${source} (--student-layers)`);
  }
}
