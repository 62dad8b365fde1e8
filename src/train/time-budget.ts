/**
 * Fits a training plan into a time budget (`--max-minutes`): the learning rate decays to 0 at the
 * plan's last step, so a run that will not finish in time is better planned shorter from early on
 * than cut off at full learning rate.
 *
 * The first steps are not a guide to the rest: the first run of a session allocates its buffers and
 * picks kernels, and took 2–3x a later step (seen here: an estimate from the first 3 steps cut a
 * 20-minute plan to two thirds, and the run then ended in 4 minutes). So the speed is measured from
 * the end of those warm-up steps, first after MEASURE steps and again every RECHECK steps, and the
 * plan is only ever shortened, never lengthened past what was asked.
 */
export const WARM_STEPS = 3;
export const MEASURE_STEPS = 10;
export const RECHECK_STEPS = 100;

export class TimeBudget {
  /** Ms since the run started when its warm-up steps were done. */
  private warmedAtMs: number | null = null;

  /** `startStep`: where this run began (a resumed run counts its own steps only). */
  constructor(
    private readonly budgetMs: number,
    private readonly startStep: number,
  ) {}

  /**
   * Call after each step with the steps done so far, the current plan and the ms since this run
   * started; returns the plan, shortened if the steps left will not fit in the time left.
   */
  plan(step: number, totalSteps: number, elapsedMs: number): number {
    if (!Number.isFinite(this.budgetMs)) return totalSteps;
    const measured = step - this.startStep - WARM_STEPS;
    if (measured === 0) this.warmedAtMs = elapsedMs;
    if (this.warmedAtMs === null) return totalSteps;
    if (measured < MEASURE_STEPS || (measured - MEASURE_STEPS) % RECHECK_STEPS !== 0) return totalSteps;
    const msPerStep = (elapsedMs - this.warmedAtMs) / measured;
    const fits = step + Math.floor(Math.max(0, this.budgetMs - elapsedMs) / Math.max(msPerStep, 1e-9));
    return fits < totalSteps ? Math.max(step + 1, fits) : totalSteps;
  }
}
