import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config';
import { createLogger, type Logger } from '../logger';
import { startHttpApi, type HttpApiServer } from '../http-api';
import { BackendUpdater } from '../updater/updater';
import { feedOverrides, FEED_OPTIONS, parseCommandArgs, parsePortOption, requireString } from './args';

/** Folder of the built renderer, when `npm run build` has made it. */
export function defaultUiDir(): string | null {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/renderer');
  return fs.existsSync(path.join(dir, 'index.html')) ? dir : null;
}

export interface ServeHandle {
  updater: BackendUpdater;
  api: HttpApiServer;
  stop(): Promise<void>;
}

/**
 * Starts a long-running host: the data folder locked, the installed backend
 * started under the supervisor, and the HTTP Update API on 127.0.0.1.
 */
export async function startServing(input: {
  config: Awaited<ReturnType<typeof loadConfig>>;
  port?: number;
  uiDir?: string | null;
  logger?: Logger;
}): Promise<ServeHandle> {
  const logger = input.logger ?? createLogger('serve');
  const updater = new BackendUpdater({ config: input.config, logger, keepBackendRunning: true });
  const releaseLock = await updater.store.lock();
  let api: HttpApiServer | null = null;
  try {
    await updater.init();
    const health = await updater.startBackend();
    if (health) logger.info(`backend ${health.version ?? '(unknown version)'} healthy on port ${input.config.backend.port}`);
    api = await startHttpApi({ updater, home: input.config.home, port: input.port ?? 0, uiDir: input.uiDir ?? null, logger });
  } catch (error) {
    await updater.stopBackend().catch(() => undefined);
    await releaseLock();
    throw error;
  }
  const server = api;
  let stopped = false;
  return {
    updater,
    api: server,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
      await updater.stopBackend();
      await releaseLock();
    },
  };
}

/** Waits for SIGINT or SIGTERM, then runs `stop` once. */
export function stopOnSignal(stop: () => Promise<void>, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info(`received ${signal}; stopping`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      stop()
        .catch((error: unknown) => logger.error(`stop failed: ${(error as Error).message}`))
        .finally(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function serveCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('serve', args, {
    ...FEED_OPTIONS,
    home: { type: 'string' },
    port: { type: 'string' },
    'backend-port': { type: 'string' },
    ui: { type: 'string' },
  });
  const home = requireString(values, 'home', 'serve');
  const backendPort = parsePortOption(values['backend-port'], 'backend-port');
  const overrides = feedOverrides(values);
  if (backendPort !== undefined) overrides.backend = { port: backendPort };
  const config = await loadConfig(home, overrides);
  const logger = createLogger('serve');
  const uiDir = typeof values.ui === 'string' ? path.resolve(values.ui) : defaultUiDir();
  const handle = await startServing({ config, port: parsePortOption(values.port, 'port', true) ?? 0, uiDir, logger });
  const lines = [
    `HTTP Update API: ${handle.api.url}/api/updates/version`,
    `Token file: ${handle.api.tokenFile}`,
    `Backend port: ${config.backend.port}`,
    `Feed: ${config.feedUrl}`,
  ];
  if (uiDir) lines.push(`UI: ${handle.api.url}/`);
  process.stdout.write(values.json ? `${JSON.stringify({ url: handle.api.url, token_file: handle.api.tokenFile, backend_port: config.backend.port })}\n` : `${lines.join('\n')}\nPress Ctrl+C to stop.\n`);
  await stopOnSignal(handle.stop, logger);
}
