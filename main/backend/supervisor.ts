import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import { createLogger, type Logger } from '../logger';
import { CancelledError, UpdateError } from '../updater/errors';
import { BackendProcess, type OutputStream } from './backend-process';
import { type BackendHealth, type HealthProbe, type HealthTarget, probeHealth } from './health';
import { createOutputLogger } from './output';
import { isPortInUse, waitForPortFree } from './port';
import { RestartPolicy } from './restart-policy';
import { earlyExitError, folderMissingError, healthTimeoutError, portInUseError, portStillInUseError } from './start-errors';
import type { BackendProcessStatus, BackendSupervisorEvents, BackendSupervisorOptions } from './types';

export type { BackendHealth } from './health';
export type {
  BackendExitEvent,
  BackendOutputEvent,
  BackendProcessStatus,
  BackendRestartEvent,
  BackendRestartFailedEvent,
  BackendStartedEvent,
  BackendStoppedEvent,
  BackendSupervisorEvents,
  BackendSupervisorOptions,
} from './types';

// Limit of one probe. A healthy backend on loopback responds within milliseconds.
const PROBE_TIMEOUT_MS = 2000;
// Time to collect the last output of a process that exited during start, for the error message.
const OUTPUT_DRAIN_MS = 500;

interface Target {
  dir: string;
  version: string;
}

/**
 * Runs one backend process: spawns it in its version folder, waits for its
 * health endpoint, stops its whole process tree, and optionally restarts it
 * after a crash. Events: started, stopped, exit, output, restarting, restart-failed.
 */
export class BackendSupervisor extends EventEmitter<BackendSupervisorEvents> {
  readonly port: number;
  private readonly command: string[];
  private readonly health: HealthTarget;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly healthIntervalMs: number;
  private readonly extraEnv: Record<string, string>;
  private readonly logger: Logger;
  private readonly restartOnCrash: boolean;
  private readonly restartPolicy: RestartPolicy;

  private current: BackendProcess | null = null;
  private target: Target | null = null;
  private healthy = false;
  private starting: Promise<BackendHealth> | null = null;
  private stopping: Promise<void> | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Count of stop() calls, which a start compares to detect that it was cancelled. */
  private stopCount = 0;

  constructor(options: BackendSupervisorOptions) {
    super();
    validateOptions(options);
    this.port = options.port;
    this.command = options.command ?? ['python3', 'main.py'];
    this.health = { host: options.host ?? '127.0.0.1', port: options.port, path: options.healthPath ?? '/health' };
    this.startTimeoutMs = options.startTimeoutMs ?? 20_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
    this.healthIntervalMs = options.healthIntervalMs ?? 100;
    this.extraEnv = options.env ?? {};
    this.logger = options.logger ?? createLogger('backend');
    this.restartOnCrash = options.restartOnCrash ?? false;
    this.restartPolicy = new RestartPolicy({
      delaysMs: options.restartDelaysMs,
      maxRestarts: options.maxRestarts,
      windowMs: options.restartWindowMs,
    });
  }

  /**
   * Starts the backend from `dir` and resolves with its first healthy response.
   * Rejects with BACKEND_START_FAILED (port taken, spawn error, early exit) or
   * HEALTH_CHECK_FAILED (no HTTP 200 in time), after killing the process tree.
   */
  async start(dir: string, version: string): Promise<BackendHealth> {
    if (this.stopping) await this.stopping.catch(() => undefined);
    if (this.starting) {
      throw new UpdateError('BUSY', `Backend ${this.target?.version ?? version} is already starting; wait for it or call stop() first.`);
    }
    if (this.current) {
      throw new UpdateError(
        'INVALID_STATE',
        `Backend ${this.current.version} is already running (pid ${this.current.pid}); call stop() before starting ${version}.`,
      );
    }
    this.cancelRestart();
    this.restartPolicy.reset();
    return this.trackStart(dir, version);
  }

  /**
   * Stops the backend's process tree: SIGTERM, SIGKILL after stopTimeoutMs, then waits
   * until the port is free. Cancels pending crash restarts first. Safe to call
   * at any time and more than once.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = this.stopNow().finally(() => {
      this.stopping = null;
    });
    return this.stopping;
  }

  /** Sends one health probe to the configured endpoint. */
  async checkHealth(): Promise<BackendHealth> {
    const probe = await probeHealth(this.health, PROBE_TIMEOUT_MS);
    if (this.current && this.current.exit === null) this.healthy = probe.ok;
    return toHealth(probe);
  }

  /** Returns a snapshot of the supervised process. */
  status(): BackendProcessStatus {
    const backend = this.current !== null && this.current.exit === null ? this.current : null;
    return {
      running: backend !== null,
      healthy: backend !== null && this.healthy,
      pid: backend?.pid ?? null,
      port: this.port,
      version: this.target?.version ?? null,
      dir: this.target?.dir ?? null,
      restartPending: this.restartTimer !== null,
    };
  }

  private trackStart(dir: string, version: string): Promise<BackendHealth> {
    const promise = this.launch(dir, version).finally(() => {
      if (this.starting === promise) this.starting = null;
    });
    this.starting = promise;
    return promise;
  }

  private async stopNow(): Promise<void> {
    this.stopCount += 1;
    this.cancelRestart();
    const backend = this.current;
    const running = this.starting;
    if (backend) await this.shutDown(backend, 'stop requested');
    // A start that has not spawned yet detects the new stopCount and rejects. Wait for it.
    if (running) await running.catch(() => undefined);
    this.target = null;
    if (!backend) {
      this.logger.debug(`stop: no backend running on port ${this.port}`);
      return;
    }
    this.logger.info(`backend ${backend.version} (pid ${backend.pid}) stopped; port ${this.port} is free`);
    this.emit('stopped', { pid: backend.pid, version: backend.version, dir: backend.dir, port: this.port });
  }

  private async launch(dir: string, version: string): Promise<BackendHealth> {
    const stopCount = this.stopCount;
    await this.checkCanSpawn(dir, version);
    this.throwIfStopped(stopCount, version);

    const backend = await BackendProcess.spawn({
      command: this.command,
      dir,
      env: this.childEnv(version),
      version,
      onOutput: this.outputHandler(version),
    });
    this.current = backend;
    this.target = { dir, version };
    this.healthy = false;
    void backend.exited.then(() => this.handleExit(backend));
    this.logger.info(`backend ${version} started: pid ${backend.pid}, dir ${dir}, port ${this.port}, command "${this.command.join(' ')}"`);

    try {
      this.throwIfStopped(stopCount, version);
      return await this.awaitHealthy(backend, stopCount);
    } catch (error) {
      await this.cleanUpFailedStart(backend, error);
      throw error;
    }
  }

  private async checkCanSpawn(dir: string, version: string): Promise<void> {
    const stats = await fs.stat(dir).catch(() => null);
    if (!stats?.isDirectory()) throw folderMissingError(dir, version);
    if (await isPortInUse(this.health.host, this.port)) throw portInUseError(this.health.host, this.port, version);
  }

  private async awaitHealthy(backend: BackendProcess, stopCount: number): Promise<BackendHealth> {
    const startedAt = Date.now();
    const deadline = startedAt + this.startTimeoutMs;
    let last: HealthProbe | null = null;
    for (;;) {
      this.throwIfStopped(stopCount, backend.version);
      if (backend.exit !== null) {
        // The last stderr lines, which usually name the cause, can arrive after the exit event.
        await backend.waitForOutput(OUTPUT_DRAIN_MS);
        throw earlyExitError(backend, this.port);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw healthTimeoutError(backend, this.health, this.startTimeoutMs, last);

      const probe = await probeHealth(this.health, Math.min(PROBE_TIMEOUT_MS, remaining));
      if (probe.ok && backend.exit === null) return this.markHealthy(backend, probe, Date.now() - startedAt);
      last = probe;
      await Promise.race([sleepMs(Math.min(this.healthIntervalMs, remaining)), backend.exited]);
    }
  }

  private markHealthy(backend: BackendProcess, probe: HealthProbe, msToHealthy: number): BackendHealth {
    backend.wasHealthy = true;
    this.healthy = true;
    const reported = probe.version ?? '(none)';
    this.logger.info(`backend ${backend.version} (pid ${backend.pid}) healthy after ${msToHealthy} ms; reports version ${reported}`);
    if (probe.version !== null && probe.version !== backend.version) {
      this.logger.warn(`backend in ${backend.dir} was started as ${backend.version} but reports version ${probe.version}`);
    }
    this.emit('started', { pid: backend.pid, version: backend.version, dir: backend.dir, port: this.port, msToHealthy });
    return toHealth(probe);
  }

  private async cleanUpFailedStart(backend: BackendProcess, error: unknown): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof CancelledError) this.logger.info(`backend ${backend.version} start cancelled by stop()`);
    else this.logger.error(`backend ${backend.version} failed to start: ${reason}`);
    try {
      await this.shutDown(backend, 'failed start');
    } catch (stopError) {
      this.logger.error(`could not clean up backend ${backend.version} after its failed start: ${(stopError as Error).message}`);
    }
    if (this.current === null && this.restartTimer === null) this.target = null;
  }

  /** Ends the process tree of `backend` and waits until the port is free. */
  private async shutDown(backend: BackendProcess, reason: string): Promise<void> {
    backend.expectedExit = true;
    if (backend.exit === null) {
      this.logger.info(`stopping backend ${backend.version} (pid ${backend.pid}, ${reason}); SIGKILL after ${this.stopTimeoutMs} ms`);
    }
    await backend.terminate(this.stopTimeoutMs);
    if (!(await waitForPortFree(this.health.host, this.port, this.stopTimeoutMs))) {
      throw portStillInUseError(backend, this.port, this.stopTimeoutMs);
    }
  }

  private handleExit(backend: BackendProcess): void {
    try {
      this.onExit(backend);
    } catch (error) {
      this.logger.error(`handling the exit of backend ${backend.version} (pid ${backend.pid}) failed: ${(error as Error).message}`);
    }
  }

  private onExit(backend: BackendProcess): void {
    const exit = backend.exit ?? { code: null, signal: null };
    const expected = backend.expectedExit;
    this.emit('exit', { code: exit.code, signal: exit.signal, version: backend.version, pid: backend.pid, expected });
    if (this.current !== backend) return;
    this.current = null;
    this.healthy = false;
    if (expected) {
      this.logger.info(`backend ${backend.version} (pid ${backend.pid}) exited with ${backend.describeExit()}`);
      return;
    }

    this.logger.warn(`backend ${backend.version} (pid ${backend.pid}) exited unexpectedly with ${backend.describeExit()}`);
    // Children of the crashed backend could keep its port open. They are members of its process group.
    backend.killLeftovers();
    if (backend.wasHealthy && this.restartOnCrash) this.scheduleRestart({ dir: backend.dir, version: backend.version });
    else if (backend.wasHealthy) this.target = null;
  }

  private scheduleRestart(target: Target): void {
    const planned = this.restartPolicy.next();
    if (planned === null) {
      const { maxRestarts, windowMs } = this.restartPolicy;
      this.logger.error(`backend ${target.version} crashed ${maxRestarts} times within ${windowMs} ms; not restarting it again`);
      this.target = null;
      this.emit('restart-failed', { version: target.version, attempts: maxRestarts, windowMs });
      return;
    }
    this.target = target;
    this.logger.info(`restarting backend ${target.version} in ${planned.delayMs} ms (restart ${planned.attempt} of ${this.restartPolicy.maxRestarts})`);
    this.emit('restarting', { attempt: planned.attempt, delayMs: planned.delayMs, version: target.version });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.restart(target);
    }, planned.delayMs);
  }

  private async restart(target: Target): Promise<void> {
    try {
      await this.trackStart(target.dir, target.version);
      this.logger.info(`backend ${target.version} restarted after a crash`);
    } catch (error) {
      if (error instanceof CancelledError) return;
      this.logger.error(`restart of backend ${target.version} failed: ${(error as Error).message}`);
      if (this.stopping === null && this.current === null) this.scheduleRestart(target);
    }
  }

  private cancelRestart(): void {
    if (this.restartTimer === null) return;
    clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.logger.info('pending backend restart cancelled');
  }

  private throwIfStopped(stopCount: number, version: string): void {
    if (this.stopCount !== stopCount) throw new CancelledError(`Start of backend ${version} was cancelled by stop().`);
  }

  private childEnv(version: string): NodeJS.ProcessEnv {
    return {
      ...process.env,
      // Unbuffered output makes log lines arrive as they are written. Without .pyc
      // files, an installed version folder stays as it was extracted.
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      ...this.extraEnv,
      PORT: String(this.port),
      BACKEND_VERSION: version,
    };
  }

  private outputHandler(version: string): (stream: OutputStream, line: string, pid: number) => void {
    const logLine = createOutputLogger(this.logger, `backend ${version}`);
    return (stream, line, pid) => {
      this.emit('output', { stream, line, pid });
      logLine(stream, line);
    };
  }
}

function validateOptions(options: BackendSupervisorOptions): void {
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new UpdateError('INVALID_INPUT', `Invalid backend port ${options.port}; use an integer from 1 to 65535.`);
  }
  const command = options.command;
  if (command !== undefined && (command.length === 0 || command.some((part) => typeof part !== 'string' || part === ''))) {
    throw new UpdateError('INVALID_INPUT', `Invalid backend command ${JSON.stringify(command)}; give the program and its arguments as non-empty strings.`);
  }
}

function toHealth(probe: HealthProbe): BackendHealth {
  return { ok: probe.ok, status: probe.status, body: probe.body, version: probe.version };
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
