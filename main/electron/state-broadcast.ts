import type { Logger } from '../logger';
import type { UpdateState } from '../updater/state';

/** A window that may receive pushes; Electron's BrowserWindow satisfies it. */
export interface PushTarget {
  isDestroyed(): boolean;
  readonly webContents: {
    isDestroyed(): boolean;
    send(channel: string, ...args: unknown[]): void;
  };
}

export interface StateBroadcasterOptions {
  channel: string;
  /** Returns the windows to push to; called at every send, so windows opened later are included. */
  getTargets(): readonly PushTarget[];
  logger: Logger;
  /** Minimum time between two progress pushes of one download. @default 250 */
  throttleMs?: number;
  now?: () => number;
  timers?: {
    setTimeout(callback: () => void, ms: number): unknown;
    clearTimeout(handle: unknown): void;
  };
}

/**
 * Sends update states to every live window. Progress ticks of one download are
 * throttled and the latest tick waits in a slot, so the last one is always
 * sent. Any other state first flushes that slot, which keeps the order of
 * the engine. A state whose `seq` is not above the last one sent is dropped,
 * so windows see strictly increasing `seq` values.
 */
export class StateBroadcaster {
  private readonly options: StateBroadcasterOptions;
  private readonly throttleMs: number;
  private readonly now: () => number;
  private lastSentSeq = Number.NEGATIVE_INFINITY;
  private lastSent: UpdateState | null = null;
  private lastProgressAt = Number.NEGATIVE_INFINITY;
  private pending: UpdateState | null = null;
  private timer: unknown = null;
  private failedSends = 0;

  constructor(options: StateBroadcasterOptions) {
    this.options = options;
    this.throttleMs = options.throttleMs ?? 250;
    this.now = options.now ?? (() => performance.now());
  }

  /** Queues or sends one state. */
  push(state: UpdateState): void {
    if (!isProgressTick(this.lastSent, state)) {
      this.flush();
      this.send(state);
      return;
    }
    const wait = this.lastProgressAt + this.throttleMs - this.now();
    if (wait <= 0 && this.pending === null) {
      this.send(state);
      return;
    }
    this.pending = state;
    if (this.timer === null) this.timer = this.setTimer(() => this.flush(), Math.max(0, wait));
  }

  /** Sends the waiting progress tick, if any. */
  flush(): void {
    this.clearTimer();
    const state = this.pending;
    this.pending = null;
    if (state) this.send(state);
  }

  /** Drops the waiting tick and stops the timer. */
  dispose(): void {
    this.clearTimer();
    this.pending = null;
  }

  private send(state: UpdateState): void {
    if (state.seq <= this.lastSentSeq) {
      this.options.logger.debug(`state push dropped: seq ${state.seq} is not after ${this.lastSentSeq}`);
      return;
    }
    this.lastSentSeq = state.seq;
    this.lastSent = state;
    if (state.type === 'downloading') this.lastProgressAt = this.now();
    for (const target of this.options.getTargets()) this.sendTo(target, state);
  }

  private sendTo(target: PushTarget, state: UpdateState): void {
    try {
      // A closed window throws on `.webContents`, so check it before reading.
      if (target.isDestroyed()) return;
      const contents = target.webContents;
      if (contents.isDestroyed()) return;
      contents.send(this.options.channel, state);
    } catch (error) {
      // Log the first failure and then every hundredth, so a broken window cannot flood the log.
      this.failedSends += 1;
      if (this.failedSends % 100 === 1) {
        const message = error instanceof Error ? error.message : String(error);
        const count = `${this.failedSends} so far`;
        this.options.logger.warn(`state push of seq ${state.seq} to a window failed (${count}): ${message}`);
      }
    }
  }

  private setTimer(callback: () => void, ms: number): unknown {
    return this.options.timers ? this.options.timers.setTimeout(callback, ms) : setTimeout(callback, ms);
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    if (this.options.timers) this.options.timers.clearTimeout(this.timer);
    else clearTimeout(this.timer as ReturnType<typeof setTimeout>);
    this.timer = null;
  }
}

/** True when `next` only moves the progress of the download that was last sent. */
function isProgressTick(last: UpdateState | null, next: UpdateState): boolean {
  return (
    next.type === 'downloading' &&
    last?.type === 'downloading' &&
    last.downloadId === next.downloadId
  );
}
