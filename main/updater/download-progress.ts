import type { Logger } from '../logger';

/** Progress of one download. `total` is null when the size is unknown. */
export interface DownloadProgress {
  transferred: number;
  total: number | null;
  bytesPerSecond: number;
}

/** Progress settings of a download, as in DownloadOptions. */
export interface ProgressOptions {
  onProgress?: (progress: DownloadProgress) => void;
  /** Minimum milliseconds between callbacks. @default 100 */
  progressIntervalMs?: number;
}

/** Throttled progress reporting of one transfer. */
export interface ProgressReporter {
  /** Reports the starting byte count (the resume offset, or 0) with a rate of 0. */
  start(offset: number): void;
  /** Reports `transferred` unless the last report is more recent than the interval. */
  update(transferred: number): void;
  /** Reports the final size, whatever the interval. */
  finish(size: number): void;
}

const DEFAULT_PROGRESS_INTERVAL_MS = 100;

/**
 * Creates a reporter that calls `onProgress` at most once per interval, plus
 * always on start and finish. The rate is the average over this transfer, so
 * resumed bytes do not count, and it is 0 until time has passed.
 */
export function createProgressReporter(options: ProgressOptions, total: number | null, logger: Logger): ProgressReporter {
  const interval = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  let startedAt = 0;
  let startOffset = 0;
  let lastEmitAt = Number.NEGATIVE_INFINITY;
  let listenerFailed = false;

  const emit = (transferred: number, now: number): void => {
    const seconds = (now - startedAt) / 1000;
    const rate = seconds > 0 ? (transferred - startOffset) / seconds : 0;
    lastEmitAt = now;
    try {
      options.onProgress?.({ transferred, total, bytesPerSecond: Number.isFinite(rate) ? Math.max(0, rate) : 0 });
    } catch (error) {
      // A failing listener must not break the transfer. Only its first failure is logged.
      if (!listenerFailed) logger.error(`download progress listener failed: ${(error as Error).message}`);
      listenerFailed = true;
    }
  };

  return {
    start(offset) {
      startedAt = performance.now();
      startOffset = offset;
      emit(offset, startedAt);
    },
    update(transferred) {
      const now = performance.now();
      if (now - lastEmitAt >= interval) emit(transferred, now);
    },
    finish(size) {
      emit(size, performance.now());
    },
  };
}
