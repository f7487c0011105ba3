import type { UpdateInfo, UpdateState } from './state';

/** Status of the supervised backend process. */
export interface BackendStatus {
  running: boolean;
  /** True when the last health check returned 200. */
  healthy: boolean;
  pid: number | null;
  port: number;
  /** Version reported by the backend's own `/health`, or the installed version before its first health response. */
  version: string | null;
}

/** Installed version and backend status, as `getVersion()` returns it. */
export interface VersionInfo {
  /** Active installed version, or the bundled version when nothing is installed; null when neither exists. */
  currentVersion: string | null;
  previousVersion: string | null;
  backend: BackendStatus;
}

/** Result of a check: the update offered, or why there is none. */
export type CheckResult =
  | { updateAvailable: true; currentVersion: string; latestVersion: string; update: UpdateInfo }
  | { updateAvailable: false; currentVersion: string; latestVersion: string | null; update: null };

export interface DownloadResultInfo {
  version: string;
  sha256: string;
  /** Size in bytes of the verified archive. */
  size: number;
}

export interface InstallResultInfo {
  version: string;
  previousVersion: string | null;
  /** Body of the new backend's health response. */
  health: unknown;
}

/**
 * Operations that every surface (IPC, HTTP API, CLI) drives. BackendUpdater
 * implements it. A second check or download while one runs joins the running
 * one; an install while a download or install runs fails with BUSY.
 */
export interface UpdaterService {
  getState(): UpdateState;
  /** Subscribes to state changes; returns the function that unsubscribes. */
  onState(listener: (state: UpdateState) => void): () => void;
  getVersion(): Promise<VersionInfo>;
  check(): Promise<CheckResult>;
  /** Downloads and verifies the offered update, running a check first when none has run. */
  download(): Promise<DownloadResultInfo>;
  /** Installs the downloaded update and restarts the backend, downloading first when needed. */
  install(): Promise<InstallResultInfo>;
  /** Cancels a running check or download; returns false when nothing could be cancelled. */
  cancel(): Promise<boolean>;
}
