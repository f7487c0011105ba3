import type { Logger } from '../logger';
import type { OutputStream } from './backend-process';

/** Settings of a BackendSupervisor. */
export interface BackendSupervisorOptions {
  /** Command and arguments, run in the version folder. @default ['python3', 'main.py'] */
  command?: string[];
  /** TCP port the backend listens on; passed as PORT. */
  port: number;
  /** Host of the health endpoint. @default '127.0.0.1' */
  host?: string;
  /** Path of the health endpoint. @default '/health' */
  healthPath?: string;
  /** Milliseconds a started backend has to return HTTP 200 from its health endpoint. @default 20000 */
  startTimeoutMs?: number;
  /** Milliseconds between SIGTERM and SIGKILL when stopping. @default 5000 */
  stopTimeoutMs?: number;
  /** Milliseconds between health probes during start. @default 100 */
  healthIntervalMs?: number;
  /** Extra environment variables for the backend, on top of this process's environment. */
  env?: Record<string, string>;
  logger?: Logger;
  /** Restarts the backend with backoff when it exits without stop(). @default false */
  restartOnCrash?: boolean;
  /** Delays before restarts in a row; the last value repeats. @default [1000, 2000, 4000] */
  restartDelaysMs?: number[];
  /** Restarts allowed within `restartWindowMs` before giving up. @default 5 */
  maxRestarts?: number;
  /** Sliding window that counts restarts, in milliseconds. @default 60000 */
  restartWindowMs?: number;
}

/** Snapshot of the supervised backend. */
export interface BackendProcessStatus {
  running: boolean;
  healthy: boolean;
  pid: number | null;
  port: number;
  /** Version being supervised: running, starting or waiting for a crash restart. */
  version: string | null;
  dir: string | null;
  /** True while a crash restart waits for its backoff delay. */
  restartPending: boolean;
}

/** Payload of 'started': the backend passed its health check. */
export interface BackendStartedEvent {
  pid: number;
  version: string;
  dir: string;
  port: number;
  msToHealthy: number;
}

/** Payload of 'stopped': stop() ended the backend and its port is free. */
export interface BackendStoppedEvent {
  pid: number;
  version: string;
  dir: string;
  port: number;
}

/** Payload of 'exit'; `expected` is true when stop() or a failed start ended the process. */
export interface BackendExitEvent {
  code: number | null;
  signal: NodeJS.Signals | null;
  version: string;
  pid: number;
  expected: boolean;
}

/** Payload of 'output': one line the backend wrote, cut at 4096 characters. */
export interface BackendOutputEvent {
  stream: OutputStream;
  line: string;
  pid: number;
}

/** Payload of 'restarting': a crash restart is scheduled after `delayMs`. */
export interface BackendRestartEvent {
  attempt: number;
  delayMs: number;
  version: string;
}

/** Payload of 'restart-failed': the supervisor stopped restarting a crashing backend. */
export interface BackendRestartFailedEvent {
  version: string;
  attempts: number;
  windowMs: number;
}

/** Event names of BackendSupervisor and their arguments. */
export interface BackendSupervisorEvents {
  started: [BackendStartedEvent];
  stopped: [BackendStoppedEvent];
  exit: [BackendExitEvent];
  output: [BackendOutputEvent];
  restarting: [BackendRestartEvent];
  'restart-failed': [BackendRestartFailedEvent];
}
