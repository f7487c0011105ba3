import type { Logger } from '../logger';

/** The part of Electron's app that the quit guard uses. */
export interface QuittingApp {
  on(event: 'before-quit', listener: (event: { preventDefault(): void }) => void): unknown;
  quit(): void;
}

export interface QuitGuardOptions {
  app: QuittingApp;
  /** Stops the backend and everything else that must end before the process exits. */
  stop(): Promise<void>;
  /** Maximum time to wait for `stop` before quitting anyway. @default 10_000 */
  deadlineMs?: number;
  logger: Logger;
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

/**
 * Holds the first quit until `stop` has finished or the deadline has passed,
 * then quits for real. Quit requests made meanwhile are held as well.
 */
export function deferQuitUntilStopped(options: QuitGuardOptions): void {
  const deadlineMs = options.deadlineMs ?? 10_000;
  const schedule = options.setTimeout ?? ((callback, ms) => setTimeout(callback, ms));
  const cancel = options.clearTimeout ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
  let phase: 'running' | 'stopping' | 'stopped' = 'running';

  const stopWithDeadline = async (): Promise<void> => {
    let timer: unknown = null;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = schedule(() => resolve('deadline'), deadlineMs);
    });
    try {
      const outcome = await Promise.race([options.stop().then(() => 'stopped' as const), deadline]);
      if (outcome === 'deadline') {
        options.logger.warn(`quit: shutdown did not finish within ${deadlineMs} ms; quitting anyway`);
      } else {
        options.logger.info('quit: backend stopped');
      }
    } catch (error) {
      options.logger.error(`quit: shutdown failed: ${(error as Error).message}; quitting anyway`);
    } finally {
      cancel(timer);
    }
  };

  options.app.on('before-quit', (event) => {
    if (phase === 'stopped') return;
    event.preventDefault();
    if (phase === 'stopping') return;
    phase = 'stopping';
    options.logger.info('quit: stopping the backend first');
    void stopWithDeadline().then(() => {
      phase = 'stopped';
      options.app.quit();
    });
  });
}
