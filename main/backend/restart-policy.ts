/** Settings of the crash-restart backoff. */
export interface RestartPolicyOptions {
  /** Delay before each restart in a row; the last value repeats. @default [1000, 2000, 4000] */
  delaysMs?: number[];
  /** Restarts allowed within `windowMs` before the supervisor gives up. @default 5 */
  maxRestarts?: number;
  /** Length of the sliding window that counts restarts, in milliseconds. @default 60000 */
  windowMs?: number;
  now?: () => number;
}

/** A planned restart: its number within the window and the delay before it. */
export interface PlannedRestart {
  attempt: number;
  delayMs: number;
}

/**
 * Crash-restart backoff over a sliding window: the n-th restart within the
 * window waits the n-th delay, and restarts stop once `maxRestarts` happened
 * within the window. A backend that stays up for a whole window starts again
 * at the first delay.
 */
export class RestartPolicy {
  readonly delaysMs: number[];
  readonly maxRestarts: number;
  readonly windowMs: number;
  private readonly now: () => number;
  private restarts: number[] = [];

  constructor(options: RestartPolicyOptions = {}) {
    this.delaysMs = options.delaysMs && options.delaysMs.length > 0 ? options.delaysMs : [1000, 2000, 4000];
    this.maxRestarts = options.maxRestarts ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Records a restart and returns its delay, or null when the window has no restart left. */
  next(): PlannedRestart | null {
    const now = this.now();
    this.restarts = this.restarts.filter((time) => now - time < this.windowMs);
    if (this.restarts.length >= this.maxRestarts) return null;
    const index = Math.min(this.restarts.length, this.delaysMs.length - 1);
    this.restarts.push(now);
    return { attempt: this.restarts.length, delayMs: this.delaysMs[index] ?? 0 };
  }

  /** Forgets past restarts, for a start requested by the caller. */
  reset(): void {
    this.restarts = [];
  }
}
