import log from 'electron-log/node';

/** Logging interface that the engine receives; electron-log in the app, a recorder in tests. */
export interface Logger {
  debug(message: string, ...values: unknown[]): void;
  info(message: string, ...values: unknown[]): void;
  warn(message: string, ...values: unknown[]): void;
  error(message: string, ...values: unknown[]): void;
}

let configured = false;

/**
 * Configures the shared electron-log instance for plain Node (CLI, HTTP API, tests).
 * `BACKEND_UPDATER_LOG_LEVEL` sets the console level (default `info`, `warn` under Vitest);
 * `BACKEND_UPDATER_LOG_FILE` turns on a log file at that path.
 */
function configureOnce(): void {
  if (configured) return;
  configured = true;
  const defaultLevel = process.env.VITEST ? 'warn' : 'info';
  const level = (process.env.BACKEND_UPDATER_LOG_LEVEL ?? defaultLevel) as 'info';
  log.transports.console.level = level;
  // Logs go to stderr so that `--json` output on stdout stays machine-readable.
  log.transports.console.writeFn = ({ message }) => {
    const text = message.data.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
    process.stderr.write(`${text}\n`);
  };
  const file = process.env.BACKEND_UPDATER_LOG_FILE;
  if (file) {
    log.transports.file.resolvePathFn = () => file;
    log.transports.file.level = 'debug';
  } else {
    log.transports.file.level = false;
  }
}

/**
 * Sets the console level unless `BACKEND_UPDATER_LOG_LEVEL` chose one, so a
 * command can keep its own output readable while the variable still wins.
 */
export function setDefaultConsoleLevel(level: 'debug' | 'info' | 'warn' | 'error'): void {
  configureOnce();
  if (!process.env.BACKEND_UPDATER_LOG_LEVEL) log.transports.console.level = level;
}

/** Returns a logger whose lines start with `[scope]`. */
export function createLogger(scope: string): Logger {
  configureOnce();
  const scoped = log.scope(scope);
  return {
    debug: (message, ...values) => scoped.debug(message, ...values),
    info: (message, ...values) => scoped.info(message, ...values),
    warn: (message, ...values) => scoped.warn(message, ...values),
    error: (message, ...values) => scoped.error(message, ...values),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
