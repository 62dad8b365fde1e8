import cliProgress from 'cli-progress';

export interface Progress {
  /** `note` is shown after the counts (a training loss, say). */
  update(done: number, total: number, note?: string): void;
  stop(): void;
}

const silent: Progress = { update() {}, stop() {} };

/**
 * A bar on stderr when stderr is a TTY and not `--quiet`; nothing otherwise (pipes and CI stay
 * clean). onnxruntime blocks the event loop during a run, so we redraw on each update.
 */
export function progressBar(label: string, quiet = false): Progress {
  if (quiet || !process.stderr.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted}{note}`, stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, note) {
      if (!started) {
        bar.start(total, 0, { note: '' });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { note: note ? ` | ${note}` : '' });
      bar.render();
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
