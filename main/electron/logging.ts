import path from 'node:path';
import log from 'electron-log/main';
import type { Logger } from '../logger';

/**
 * Sends the main process's log to `main.log` in the app's log folder
 * (`app.getPath('logs')`) and logs uncaught errors there too. Engine modules
 * that create their own logger write to `engine.log` in the same folder.
 */
export function setUpMainLogging(logsDir: string): void {
  log.transports.file.resolvePathFn = () => path.join(logsDir, 'main.log');
  log.transports.file.level = 'info';
  log.transports.console.level = process.env.BACKEND_UPDATER_LOG_LEVEL === 'debug' ? 'debug' : 'info';
  log.errorHandler.startCatching({ showDialog: false });
  process.env.BACKEND_UPDATER_LOG_FILE ??= path.join(logsDir, 'engine.log');
}

/** Returns a logger whose lines start with `[scope]`. */
export function createMainLogger(scope: string): Logger {
  const scoped = log.scope(scope);
  return {
    debug: (message, ...values) => scoped.debug(message, ...values),
    info: (message, ...values) => scoped.info(message, ...values),
    warn: (message, ...values) => scoped.warn(message, ...values),
    error: (message, ...values) => scoped.error(message, ...values),
  };
}
