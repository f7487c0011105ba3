import { z } from 'zod';
import type { Logger } from '../logger';
import { CheckScheduler, type CheckSchedulerOptions, type PowerEvents } from '../scheduler';
import { toErrorData, UpdateError } from '../updater/errors';
import type { CheckResult, UpdaterService } from '../updater/service';
import { installAppMenu, type MenuApi } from './menu';
import type { UpdateNotifier } from './notifier';

/** Scheduler settings that the app reads from its environment. */
export type ScheduleSettings = Pick<CheckSchedulerOptions<CheckResult>, 'enabled' | 'intervalMs' | 'initialDelayMs'>;

const positiveNumber = z.coerce.number().positive();

/**
 * Reads `BACKEND_UPDATER_AUTO_CHECK` (`0` or `false` turns automatic checks
 * off), `BACKEND_UPDATER_CHECK_INTERVAL_MINUTES` and
 * `BACKEND_UPDATER_FIRST_CHECK_DELAY_SECONDS`; unset values keep the defaults.
 */
export function scheduleSettingsFromEnv(env: NodeJS.ProcessEnv): ScheduleSettings {
  const settings: ScheduleSettings = {};
  const auto = env.BACKEND_UPDATER_AUTO_CHECK?.trim().toLowerCase();
  if (auto !== undefined && auto !== '') settings.enabled = !['0', 'false', 'no', 'off'].includes(auto);
  const read = (name: string, unitMs: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const parsed = positiveNumber.safeParse(raw);
    if (!parsed.success) {
      const message = `${name}="${raw}" is not a positive number. Unset it or give a number such as 240.`;
      throw new UpdateError('INVALID_INPUT', message);
    }
    return parsed.data * unitMs;
  };
  const intervalMs = read('BACKEND_UPDATER_CHECK_INTERVAL_MINUTES', 60_000);
  const initialDelayMs = read('BACKEND_UPDATER_FIRST_CHECK_DELAY_SECONDS', 1000);
  if (intervalMs !== undefined) settings.intervalMs = intervalMs;
  if (initialDelayMs !== undefined) settings.initialDelayMs = initialDelayMs;
  return settings;
}

export interface UpdateChecksDeps<M> {
  updater: UpdaterService;
  Menu: MenuApi<M>;
  appName: string;
  platform: NodeJS.Platform;
  notifier: UpdateNotifier;
  powerMonitor?: PowerEvents;
  /** Shows a message box (`dialog.showMessageBox`). */
  showMessage(options: { type: 'info' | 'error'; message: string; detail: string }): Promise<unknown>;
  focusMainWindow(): void;
  schedule?: Omit<CheckSchedulerOptions<CheckResult>, 'runCheck' | 'powerMonitor' | 'logger'>;
  logger: Logger;
}

export interface UpdateChecks {
  scheduler: CheckScheduler<CheckResult>;
  /** Runs the check that the "Check for Updates…" menu item starts and reports its outcome. */
  checkFromMenu(): Promise<void>;
  dispose(): void;
}

/**
 * Wires automatic checks, the "Check for Updates…" menu item and background
 * notifications to the updater. Every trigger goes through one scheduler, so
 * a menu click during an automatic check joins it.
 */
export function setUpUpdateChecks<M>(deps: UpdateChecksDeps<M>): UpdateChecks {
  const { updater, logger } = deps;

  const runCheck = async (signal: AbortSignal, reason: string): Promise<CheckResult> => {
    // The updater stops its request on cancel; the scheduler aborts on suspend and timeout.
    const onAbort = (): void => {
      updater.cancel().catch((error: unknown) => logger.warn(`cancelling the check failed: ${toErrorData(error).message}`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await updater.check();
      if (reason !== 'manual' && result.updateAvailable) deps.notifier.notifyAvailable(result.update);
      return result;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };

  const scheduler = new CheckScheduler<CheckResult>({ ...deps.schedule, runCheck, powerMonitor: deps.powerMonitor, logger });

  const checkFromMenu = async (): Promise<void> => {
    try {
      const result = await scheduler.checkNow('manual');
      if (result.updateAvailable) {
        // The window shows the update from the pushed state.
        deps.focusMainWindow();
        return;
      }
      await deps.showMessage({
        type: 'info',
        message: `You're up to date (${result.currentVersion})`,
        detail: `Backend ${result.currentVersion} is the newest version available.`,
      });
    } catch (error) {
      const data = toErrorData(error);
      if (data.code === 'CANCELLED') return;
      await deps.showMessage({
        type: 'error',
        message: 'Checking for updates failed',
        detail: `${data.message} (${data.code})`,
      });
    }
  };

  const removeMenu = installAppMenu({
    Menu: deps.Menu,
    appName: deps.appName,
    platform: deps.platform,
    updater,
    onCheckForUpdates: () => {
      checkFromMenu().catch((error: unknown) => logger.error(`menu check failed: ${(error as Error).message}`));
    },
  });

  return {
    scheduler,
    checkFromMenu,
    dispose: () => {
      scheduler.stop();
      removeMenu();
    },
  };
}
