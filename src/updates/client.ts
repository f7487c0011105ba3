import type {
  CheckResult,
  DownloadResultInfo,
  InstallResultInfo,
  VersionInfo,
} from '../../main/updater/service';
import type { UpdateState } from '../../main/updater/state';
import { unwrapResult, type BackendUpdatesApi } from '../../preload/api';

/** The bridge as components use it: promises that reject with BridgeError. */
export interface UpdatesClient {
  getVersion(): Promise<VersionInfo>;
  /** Checks for updates; a call while a check runs gets that check's promise. */
  check(): Promise<CheckResult>;
  download(): Promise<DownloadResultInfo>;
  install(): Promise<InstallResultInfo>;
  cancel(): Promise<boolean>;
  getState(): Promise<UpdateState>;
  /** Opens a web or mail link outside the app, without giving the new page access to this one. */
  openExternal(url: string): void;
}

/** Wraps a function so that calls during a running call share its promise. */
function singleFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () => {
    running ??= run().finally(() => {
      running = null;
    });
    return running;
  };
}

/**
 * Creates the client over a bridge. Links open with `window.open` and
 * `noopener`: inside Electron the main process denies the new window and
 * hands https: and mailto: URLs to the system browser or mail client.
 */
export function createUpdatesClient(
  api: BackendUpdatesApi,
  openWindow: Window['open'] = (...args) => window.open(...args),
): UpdatesClient {
  return {
    getVersion: () => unwrapResult(api.getVersion()),
    check: singleFlight(() => unwrapResult(api.check())),
    download: () => unwrapResult(api.download()),
    install: () => unwrapResult(api.install()),
    cancel: () => unwrapResult(api.cancel()),
    getState: () => unwrapResult(api.getState()),
    openExternal: (url) => {
      openWindow(url, '_blank', 'noopener,noreferrer');
    },
  };
}
