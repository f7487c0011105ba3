import { UpdateError } from '../updater/errors';
import type { BackendProcess } from './backend-process';
import { type HealthProbe, type HealthTarget, describeProbe } from './health';

/** Builds the error for a version folder that does not exist. */
export function folderMissingError(dir: string, version: string): UpdateError {
  return new UpdateError('BACKEND_START_FAILED', `Backend folder for ${version} not found: ${dir}. Reinstall that version.`, {
    details: { dir, version },
  });
}

/** Builds the error for a port that another process listens on before the spawn. */
export function portInUseError(host: string, port: number, version: string): UpdateError {
  return new UpdateError(
    'BACKEND_START_FAILED',
    `Port ${port} on ${host} is already in use, so backend ${version} cannot listen on it. ` +
      'A backend from an earlier run may still be running: stop that process or configure another port.',
    { details: { port, host, version } },
  );
}

/** Builds the error for a backend that exited before its health check passed, with its last stderr lines. */
export function earlyExitError(backend: BackendProcess, port: number): UpdateError {
  const stderr = backend.lastStderrLines();
  const tail = stderr.length > 0 ? ` Last stderr lines:\n${stderr.join('\n')}` : ' It wrote nothing to stderr.';
  const exit = backend.exit;
  return new UpdateError(
    'BACKEND_START_FAILED',
    `Backend ${backend.version} (pid ${backend.pid}) exited with ${backend.describeExit()} before its health check passed.${tail}`,
    {
      details: { version: backend.version, dir: backend.dir, exitCode: exit?.code ?? null, signal: exit?.signal ?? null, port },
    },
  );
}

/** Builds the error for a health check that timed out, with the result of the last probe. */
export function healthTimeoutError(
  backend: BackendProcess,
  target: HealthTarget,
  timeoutMs: number,
  last: HealthProbe | null,
): UpdateError {
  const url = `http://${target.host}:${target.port}${target.path}`;
  return new UpdateError(
    'HEALTH_CHECK_FAILED',
    `Health check of backend ${backend.version} (pid ${backend.pid}) timed out after ${timeoutMs} ms: ${url} did not return HTTP 200 ` +
      `(last result: ${describeProbe(last)}). Check the backend log.`,
    { details: { version: backend.version, url, lastStatus: last?.status ?? null, timeoutMs } },
  );
}

/** Builds the error for a port that stays in use after the backend exited. */
export function portStillInUseError(backend: BackendProcess, port: number, waitedMs: number): UpdateError {
  return new UpdateError(
    'BACKEND_STOP_FAILED',
    `Backend ${backend.version} (pid ${backend.pid}) exited, but port ${port} is still in use after ${waitedMs} ms. ` +
      `A process outside its process group may be listening; find it with "lsof -i :${port}" and end it.`,
    { details: { port, pid: backend.pid, version: backend.version } },
  );
}
