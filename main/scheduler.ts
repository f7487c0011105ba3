import type { Logger } from './logger';
import { silentLogger } from './logger';
import { CancelledError, isCancellation, toErrorData, UpdateError } from './updater/errors';

/** Wall-clock and monotonic time, in milliseconds. */
export interface SchedulerClock {
  /** Wall-clock time (`Date.now()`); it can jump and it moves on during sleep. */
  now(): number;
  /** Monotonic time (`performance.now()`); it never jumps. */
  monotonic(): number;
}

export interface SchedulerTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The `suspend` and `resume` events of Electron's powerMonitor. */
export interface PowerEvents {
  on(event: 'suspend' | 'resume', listener: () => void): unknown;
  removeListener(event: 'suspend' | 'resume', listener: () => void): unknown;
}

/** Trigger of a check. */
export type CheckReason = 'startup' | 'interval' | 'retry' | 'resume' | 'manual';

export interface CheckSchedulerOptions<T> {
  /** Runs one check; it should stop when `signal` aborts. */
  runCheck(signal: AbortSignal, reason: CheckReason): Promise<T>;
  /** Turns automatic checks off; `checkNow()` still works. @default true */
  enabled?: boolean;
  /** Delay before the first automatic check after `start()`. @default 10_000 */
  initialDelayMs?: number;
  /** Wall-clock time between successful automatic checks. @default 4 hours */
  intervalMs?: number;
  /** How often the schedule compares the wall clock with the next due time. @default 5 minutes */
  pollMs?: number;
  /**
   * Minimum monotonic time between two automatic checks started because the
   * wall clock shows one is due, so clock jumps cannot cause a burst of
   * checks. Capped at `intervalMs`. @default 30 minutes
   */
  minGapMs?: number;
  /** Delay after a system resume before the check that resume schedules. @default 15_000 */
  resumeDelayMs?: number;
  /** A check that has not settled after this long is aborted and counts as failed. @default 60_000 */
  checkTimeoutMs?: number;
  /** Delays before retrying a failed check; the last one repeats. @default [30 s, 2 min, 10 min] */
  retryDelaysMs?: readonly number[];
  /** Wall-clock time of the last successful check, for example from a previous session. */
  lastCheckAt?: number | null;
  /** Receives the wall-clock time of each successful check, so that it can be stored. */
  onCheckSucceeded?(at: number): void;
  clock?: SchedulerClock;
  timers?: SchedulerTimers;
  powerMonitor?: PowerEvents;
  logger?: Logger;
}

const HOUR = 60 * 60_000;

const systemClock: SchedulerClock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

// Resolved at call time so that fake timers installed later still apply.
const systemTimers: SchedulerTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface InFlightCheck<T> {
  promise: Promise<T>;
  controller: AbortController;
}

/**
 * Runs automatic update checks. A short poll compares the wall clock with the
 * next due time, because timers count only awake time and would miss a check
 * after a long sleep. A monotonic minimum gap keeps clock jumps from starting
 * checks in a burst, and a `lastCheckAt` in the future counts as due so that
 * a clock set back cannot stop the schedule. One check runs at a time: every
 * trigger that arrives meanwhile joins it.
 */
export class CheckScheduler<T> {
  private readonly options: CheckSchedulerOptions<T>;
  private readonly clock: SchedulerClock;
  private readonly timers: SchedulerTimers;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly minGapMs: number;
  private readonly pollMs: number;
  private lastCheckAt: number | null;
  private lastAttemptMono: number | null = null;
  /** Monotonic time of a one-off check (startup, retry, resume) that overrides the wall-clock rule. */
  private pendingAt: number | null = null;
  private pendingReason: CheckReason = 'interval';
  /** True when a suspend aborted a check, so the resume owes one. */
  private owedAfterSuspend = false;
  private failures = 0;
  private inFlight: InFlightCheck<T> | null = null;
  private timer: unknown = null;
  private running = false;

  constructor(options: CheckSchedulerOptions<T>) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
    this.intervalMs = options.intervalMs ?? 4 * HOUR;
    this.minGapMs = Math.min(options.minGapMs ?? 30 * 60_000, this.intervalMs);
    this.pollMs = options.pollMs ?? 5 * 60_000;
    this.lastCheckAt = options.lastCheckAt ?? null;
  }

  /** True while a check started by this scheduler runs. */
  get isChecking(): boolean {
    return this.inFlight !== null;
  }

  /** Starts automatic checks and listens to suspend and resume; does nothing when disabled. */
  start(): void {
    if (this.running || this.options.enabled === false) return;
    this.running = true;
    this.options.powerMonitor?.on('suspend', this.handleSuspend);
    this.options.powerMonitor?.on('resume', this.handleResume);

    // A known last check that is not due yet makes the first check wait for the interval.
    if (this.lastCheckAt === null || this.isWallClockDue()) {
      this.setPending(this.options.initialDelayMs ?? 10_000, 'startup');
    }
    this.logger.info(`automatic checks started: every ${this.intervalMs / 60_000} min`);
    this.scheduleTick();
  }

  /** Stops automatic checks and aborts a running check. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.clearTimer();
    this.options.powerMonitor?.removeListener('suspend', this.handleSuspend);
    this.options.powerMonitor?.removeListener('resume', this.handleResume);
    this.inFlight?.controller.abort(new CancelledError('Automatic update checks were stopped.'));
    this.logger.info('automatic checks stopped');
  }

  /** Runs a check now, or joins the one running; rejects when that check fails. */
  checkNow(reason: CheckReason = 'manual'): Promise<T> {
    if (this.inFlight) return this.inFlight.promise;
    return this.runCheck(reason);
  }

  private runCheck(reason: CheckReason): Promise<T> {
    const controller = new AbortController();
    this.lastAttemptMono = this.clock.monotonic();
    this.pendingAt = null;
    this.owedAfterSuspend = false;
    this.logger.info(`update check started (${reason})`);

    const timeoutMs = this.options.checkTimeoutMs ?? 60_000;
    const timeout = this.timers.setTimeout(() => {
      const message = `The update check did not finish within ${timeoutMs / 1000} s and was aborted.`;
      controller.abort(new UpdateError('NETWORK', message, { retryable: true }));
    }, timeoutMs);
    const aborted = new Promise<never>((_resolve, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    const work = Promise.resolve().then(() => this.options.runCheck(controller.signal, reason));
    // The race settles first on abort; a late rejection of the check itself is expected then.
    work.catch(() => undefined);

    const promise = Promise.race([work, aborted])
      .then(
        (value) => this.recordSuccess(value),
        (error: unknown) => this.recordFailure(error, controller),
      )
      .finally(() => {
        this.timers.clearTimeout(timeout);
        this.inFlight = null;
        if (this.running) this.scheduleTick();
      });
    this.inFlight = { promise, controller };
    return promise;
  }

  private recordSuccess(value: T): T {
    this.failures = 0;
    this.lastCheckAt = this.clock.now();
    this.logger.info('update check finished');
    try {
      this.options.onCheckSucceeded?.(this.lastCheckAt);
    } catch (error) {
      this.logger.warn(`storing the last check time failed: ${(error as Error).message}`);
    }
    return value;
  }

  private recordFailure(error: unknown, controller: AbortController): never {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : null;
    if (reason instanceof SuspendAbort) {
      // Resume schedules the next attempt; a suspend is not a failed check.
      this.logger.info('update check aborted because the system is suspending');
    } else if (isCancellation(reason) || (reason === null && isCancellation(error))) {
      this.logger.info('update check cancelled');
    } else {
      this.scheduleRetry(error);
    }
    throw error;
  }

  private scheduleRetry(error: unknown): void {
    this.failures += 1;
    const delays = this.options.retryDelaysMs ?? [30_000, 120_000, 600_000];
    const delay = delays[Math.min(this.failures, delays.length) - 1] ?? 600_000;
    const data = toErrorData(error);
    this.logger.warn(`update check failed (${data.code}: ${data.message}); retry ${this.failures} in ${delay / 1000} s`);
    if (this.running) this.setPending(delay, 'retry');
  }

  private readonly handleSuspend = (): void => {
    if (!this.inFlight) return;
    this.owedAfterSuspend = true;
    this.inFlight.controller.abort(new SuspendAbort());
  };

  private readonly handleResume = (): void => {
    if (!this.running) return;
    const owed = this.owedAfterSuspend || this.failures > 0 || this.isWallClockDue();
    if (!owed) return;
    const delay = this.options.resumeDelayMs ?? 15_000;
    const due = this.clock.monotonic() + delay;
    if (this.pendingAt === null || this.pendingAt > due) this.setPending(delay, 'resume');
    this.logger.info(`system resumed; update check in ${delay / 1000} s`);
    this.scheduleTick();
  };

  private readonly tick = (): void => {
    this.timer = null;
    if (!this.running) return;
    const reason = this.dueReason();
    if (reason && !this.inFlight) {
      this.runCheck(reason).catch(() => undefined);
      return;
    }
    this.scheduleTick();
  };

  /** Returns why a check is due now, or null when none is. */
  private dueReason(): CheckReason | null {
    const mono = this.clock.monotonic();
    if (this.pendingAt !== null) return mono >= this.pendingAt ? this.pendingReason : null;
    if (!this.isWallClockDue()) return null;
    const gapPassed = this.lastAttemptMono === null || mono - this.lastAttemptMono >= this.minGapMs;
    return gapPassed ? 'interval' : null;
  }

  private isWallClockDue(): boolean {
    if (this.lastCheckAt === null) return true;
    const now = this.clock.now();
    // A last check in the future means the clock was set back, or a stored value is wrong.
    if (this.lastCheckAt > now) return true;
    return now - this.lastCheckAt >= this.intervalMs;
  }

  private setPending(delayMs: number, reason: CheckReason): void {
    this.pendingAt = this.clock.monotonic() + delayMs;
    this.pendingReason = reason;
  }

  private scheduleTick(): void {
    this.clearTimer();
    if (this.inFlight) return;
    this.timer = this.timers.setTimeout(this.tick, this.nextTickDelay());
  }

  private nextTickDelay(): number {
    const mono = this.clock.monotonic();
    if (this.pendingAt !== null) return clamp(this.pendingAt - mono, 0, this.pollMs);
    let delay = this.pollMs;
    if (this.lastCheckAt !== null && !this.isWallClockDue()) {
      delay = Math.min(delay, this.lastCheckAt + this.intervalMs - this.clock.now());
    }
    if (this.lastAttemptMono !== null) {
      delay = Math.max(delay, this.lastAttemptMono + this.minGapMs - mono);
    }
    return clamp(delay, 0, this.pollMs);
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Abort reason used when the system suspends during a check. */
class SuspendAbort extends CancelledError {
  constructor() {
    super('The update check was aborted because the system is suspending.');
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
