/**
 * Progress on stderr, for people at a terminal: ONE status line that names the step running now.
 * A step without a count yet (start-up: reading models, building graphs, creating sessions) shows a
 * spinner; a step with a count shows a bar. Nothing at all is written when the stream is not a TTY
 * or with --quiet, so pipes, logs and CI stay clean.
 *
 * onnxruntime blocks the event loop while it creates a session or runs a batch, so the spinner's
 * timer cannot fire then: every call redraws too, and the timer only animates the idle gaps.
 */

/** Where the line goes: process.stderr, or anything shaped like it (tests pass a recorder). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  /** No output at all (--quiet, --json). */
  readonly quiet?: boolean;
  /** Default process.stderr. */
  readonly stream?: ProgressStream;
  /** Clock in ms (tests pass their own). */
  readonly now?: () => number;
  /** Spinner frame interval in ms; 0 = no timer (frames advance on calls only). */
  readonly spinMs?: number;
}

export interface StatusLine {
  /** A step with no count (yet): spinner + label. */
  spin(label: string): void;
  /** A counted step: label + bar. `total` 0 means "no count yet" (a spinner). */
  bar(label: string, done: number, total: number, note?: string): void;
  /** Clears the line (the results follow on stdout). The line may be used again afterwards. */
  stop(): void;
}

/** The older single-bar interface (one label), still used by bench/. */
export interface Progress {
  /** `note` is shown after the counts (a training loss, say). */
  update(done: number, total: number, note?: string): void;
  stop(): void;
}

export const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;
const BAR_WIDTH = 24;
/** Least time between two redraws of the same step's bar (a new step or the last count always draws). */
const THROTTLE_MS = 80;
const CLEAR = '\r\x1b[2K';

const silent: StatusLine = { spin() {}, bar() {}, stop() {} };

function eta(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** The text of a bar frame (no control characters): `label [████░░░░] 50% | 2/4 | eta 3s | note`. */
export function barText(label: string, done: number, total: number, elapsedMs: number, note?: string): string {
  const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const fill = Math.round(f * BAR_WIDTH);
  const left = done > 0 && done < total ? ` | eta ${eta((elapsedMs / done) * (total - done))}` : '';
  return `${label} [${'█'.repeat(fill)}${'░'.repeat(BAR_WIDTH - fill)}] ${Math.floor(f * 100)}% | ${done}/${total}${left}${note ? ` | ${note}` : ''}`;
}

export function statusLine(opts: ProgressOptions = {}): StatusLine {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || !stream.isTTY) return silent;
  const now = opts.now ?? Date.now;
  const spinMs = opts.spinMs ?? 100;
  let frame = 0;
  let timer: ReturnType<typeof setInterval> | null = null;
  let shown = false;
  let label: string | null = null;
  let counted = false;
  let stepStart = 0;
  let lastDraw = -Infinity;

  const draw = (text: string): void => {
    const width = Math.max(10, (stream.columns ?? 80) - 1);
    stream.write(CLEAR + (text.length > width ? text.slice(0, width - 1) + '…' : text));
    shown = true;
    lastDraw = now();
  };
  const stopTimer = (): void => {
    if (timer) clearInterval(timer);
    timer = null;
  };
  const spinFrame = (): void => {
    draw(`${SPINNER_FRAMES[frame % SPINNER_FRAMES.length]} ${label}`);
    frame++;
  };
  const enter = (next: string, isCounted: boolean): boolean => {
    const changed = next !== label || isCounted !== counted;
    if (changed) {
      label = next;
      counted = isCounted;
      stepStart = now();
    }
    return changed;
  };

  return {
    spin(next) {
      enter(next, false);
      spinFrame();
      if (!timer && spinMs > 0) {
        timer = setInterval(spinFrame, spinMs);
        // The spinner never keeps the process alive.
        timer.unref();
      }
    },
    bar(next, done, total, note) {
      if (total <= 0) return this.spin(next);
      stopTimer();
      const changed = enter(next, true);
      if (!changed && done < total && now() - lastDraw < THROTTLE_MS) return;
      draw(barText(next, done, total, now() - stepStart, note));
    },
    stop() {
      stopTimer();
      if (shown) stream.write(CLEAR);
      shown = false;
      label = null;
    },
  };
}

/** A bar with one label on stderr (TTY only, nothing with `quiet`). */
export function progressBar(label: string, quiet = false, opts: Omit<ProgressOptions, 'quiet'> = {}): Progress {
  const line = statusLine({ ...opts, quiet });
  return { update: (done, total, note) => line.bar(label, done, total, note), stop: () => line.stop() };
}
