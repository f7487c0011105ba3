/**
 * The bridge contract between the main process, the preload script and the
 * renderer. Main, preload and renderer all import this file, so channel names
 * and payload types exist once. It imports only types from `main/`, so that
 * the renderer bundle never pulls in main-process code.
 */
import type { UpdateErrorCode, UpdateErrorData } from '../main/updater/errors';
import type {
  CheckResult,
  DownloadResultInfo,
  InstallResultInfo,
  VersionInfo,
} from '../main/updater/service';
import type { UpdateState } from '../main/updater/state';

export type { UpdateErrorData, UpdateErrorCode };

/** IPC channel names: one `invoke` channel per command and the state push channel. */
export const UPDATE_CHANNELS = {
  getVersion: 'backend-updates:get-version',
  check: 'backend-updates:check',
  download: 'backend-updates:download',
  install: 'backend-updates:install',
  cancel: 'backend-updates:cancel',
  getState: 'backend-updates:get-state',
  /** Main pushes every UpdateState on this channel. */
  state: 'update-progress',
} as const;

/** Value that each command resolves to when it succeeds. */
export interface UpdateCommandResults {
  getVersion: VersionInfo;
  check: CheckResult;
  download: DownloadResultInfo;
  install: InstallResultInfo;
  /** True when a running check or download was cancelled. */
  cancel: boolean;
  getState: UpdateState;
}

/** Name of a command that the renderer can invoke. */
export type UpdateCommand = keyof UpdateCommandResults;

/** Lists the command names, in the order of UPDATE_CHANNELS. */
export const UPDATE_COMMANDS = [
  'getVersion',
  'check',
  'download',
  'install',
  'cancel',
  'getState',
] as const satisfies readonly UpdateCommand[];

/**
 * Envelope that every command returns across IPC. Errors travel as data
 * because Electron rebuilds a thrown error as a generic Error and drops its
 * custom fields, so `code` and `details` would be lost.
 */
export type BridgeResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: UpdateErrorData };

/** Listener of pushed update states. */
export type UpdateStateListener = (state: UpdateState) => void;

/**
 * Type of `window.backendUpdates`, exposed by the preload inside Electron and
 * implemented over the HTTP Update API in a plain browser.
 */
export type BackendUpdatesApi = {
  [Command in UpdateCommand]: () => Promise<BridgeResult<UpdateCommandResults[Command]>>;
} & {
  /** Subscribes to pushed states; the returned function removes this listener. */
  onState(listener: UpdateStateListener): () => void;
};

/** Error raised on the renderer side for a failed command; branch on `code`. */
export class BridgeError extends Error {
  readonly code: UpdateErrorCode;
  readonly retryable: boolean;
  readonly details: UpdateErrorData['details'];

  constructor(data: UpdateErrorData) {
    super(data.message);
    this.name = 'BridgeError';
    this.code = data.code;
    this.retryable = data.retryable;
    this.details = data.details;
  }

  /** Returns the plain-data form of this error. */
  toData(): UpdateErrorData {
    const data: UpdateErrorData = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.details !== undefined) data.details = { ...this.details };
    return data;
  }
}

/** Returns the value of a successful envelope or throws its error as a BridgeError. */
export async function unwrapResult<T>(result: Promise<BridgeResult<T>>): Promise<T> {
  const settled = await result;
  if (settled.ok) return settled.value;
  throw new BridgeError(settled.error);
}

declare global {
  interface Window {
    /** Update commands and state pushes; absent outside Electron. */
    backendUpdates?: BackendUpdatesApi;
  }
}
