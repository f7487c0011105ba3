import net from 'node:net';
import type { UpdaterConfig } from '../config';
import type { Logger } from '../logger';
import { BackendSupervisor, type BackendHealth } from '../backend/supervisor';
import type { ArchiveFormat } from './assets';
import { UpdateError } from './errors';
import { parseTag } from './versions';
import type { InstallStore } from './install';
import type { InstallResultInfo } from './service';

/** Step boundaries of an install, in order; `onStep` runs at each one. */
export type ApplyStep = 'staged' | 'stopped' | 'activated' | 'started' | 'confirmed';

export interface ApplyContext {
  config: UpdaterConfig;
  logger: Logger;
  store: InstallStore;
  /** Supervisor of the running backend. */
  supervisor: BackendSupervisor;
  signal?: AbortSignal;
  /** Called when the backend is about to be stopped for the switch. */
  onRestarting?: () => void;
  /**
   * When true the new version keeps running on the configured port even if no
   * backend ran before (a long-running host such as `serve` or the app). When
   * false it is only started on a free port to prove it is healthy.
   */
  keepRunning?: boolean;
  /** Runs at each step boundary; the crash-safety tests stop the process there. */
  onStep?: (step: ApplyStep) => Promise<void> | void;
}

export interface ApplyInput {
  file: string;
  format: ArchiveFormat;
  version: string;
}

/** Returns a free TCP port on 127.0.0.1. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Builds a supervisor with the configured command on the given port. */
export function createSupervisor(config: UpdaterConfig, logger: Logger, port = config.backend.port): BackendSupervisor {
  return new BackendSupervisor({
    command: config.backend.command,
    port,
    healthPath: config.backend.healthPath,
    startTimeoutMs: config.backend.startTimeoutMs,
    stopTimeoutMs: config.backend.stopTimeoutMs,
    logger,
  });
}

/** Returns the folder the backend runs from for an installed version, or the bundled one. */
export function runnableDir(config: UpdaterConfig, store: InstallStore, version: string | null): { dir: string; version: string } | null {
  if (version) return { dir: store.versionDir(version), version };
  if (config.bundled) return { dir: config.bundled.dir, version: config.bundled.version };
  return null;
}

/**
 * Installs an archive and switches the backend to it. The archive is extracted
 * and checked while the old backend still runs, so the backend is down only
 * between stop and the new start. A new version that fails to start or to
 * pass its health check is rolled back and the previous one started again.
 * When no backend was running, the new version is still started once on a
 * free port to prove it is healthy, then stopped.
 */
export async function applyUpdate(context: ApplyContext, input: ApplyInput): Promise<InstallResultInfo> {
  const { config, logger, store } = context;
  await store.stageArchive({
    file: input.file,
    format: input.format,
    version: input.version,
    limits: config.extractLimits,
    signal: context.signal,
  });
  await context.onStep?.('staged');

  const wasRunning = context.supervisor.status().running;
  const useMain = wasRunning || context.keepRunning === true;
  const supervisor = useMain ? context.supervisor : createSupervisor(config, logger, await findFreePort());
  context.onRestarting?.();
  if (wasRunning) await supervisor.stop();
  await context.onStep?.('stopped');

  const { previous } = await store.activate(input.version);
  await context.onStep?.('activated');
  logger.info(`switched active version ${previous ?? '(none)'} -> ${input.version}; starting it`);
  let health: BackendHealth;
  try {
    health = await supervisor.start(store.versionDir(input.version), input.version);
    await assertReportedVersion(supervisor, health, input.version, logger);
  } catch (error) {
    await restorePrevious(context, input.version, useMain, error);
    throw error;
  }
  await context.onStep?.('started');

  await store.confirm(input.version);
  await context.onStep?.('confirmed');
  if (!useMain) await supervisor.stop();
  logger.info(`installed ${input.version} (previous ${previous ?? 'none'}); health ${JSON.stringify(health.body)}`);
  return { version: input.version, previousVersion: previous, health: health.body };
}

/**
 * Rejects a backend whose health response names another version than the one
 * installed (an archive packed from the wrong folder, or a mislabelled file),
 * and stops it. A version that does not parse as semver only logs a warning,
 * because the health response's format belongs to the backend.
 */
async function assertReportedVersion(supervisor: BackendSupervisor, health: BackendHealth, expected: string, logger: Logger): Promise<void> {
  if (health.version === null || health.version === expected) return;
  const reported = parseTag(health.version);
  if (reported === null) {
    logger.warn(`backend ${expected} reports version "${health.version}" in its health response, which is not a semantic version`);
    return;
  }
  if (reported === expected) return;
  await supervisor.stop();
  throw new UpdateError('VERSION_MISMATCH', `The archive installed as ${expected} runs a backend that reports version ${reported} in its health response. Check that the archive and the version match.`, {
    details: { expected, reported },
  });
}

/** Switches back after a failed start and starts the previous backend again when one was running. */
async function restorePrevious(context: ApplyContext, failedVersion: string, restart: boolean, cause: unknown): Promise<void> {
  const { config, logger, store } = context;
  const reason = cause instanceof Error ? cause.message : String(cause);
  logger.error(`version ${failedVersion} failed to start: ${reason}; rolling back`);
  const { current } = await store.revertActivation(failedVersion);
  const target = runnableDir(config, store, current);
  if (!restart || !target) {
    logger.info(`rolled back to ${current ?? '(none)'}`);
    return;
  }
  try {
    await context.supervisor.start(target.dir, target.version);
    logger.info(`rolled back to ${target.version}, which is running again`);
  } catch (error) {
    logger.error(`previous version ${target.version} failed to start after rollback: ${(error as Error).message}`);
    throw new UpdateError('HEALTH_CHECK_FAILED', `Version ${failedVersion} failed (${reason}), and the previous version ${target.version} did not start again either: ${(error as Error).message}`, { cause: error });
  }
  if (cause instanceof UpdateError) {
    cause.message = `${cause.message} Rolled back to ${target.version}, which is running again.`;
  }
}
