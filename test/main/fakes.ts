import type { IpcMainLike, InvokeEvent } from '../../main/ipc';
import type { PushTarget } from '../../main/electron/state-broadcast';
import type { SenderFrame } from '../../main/electron/url-policy';
import { CancelledError, UpdateError, type UpdateErrorData } from '../../main/updater/errors';
import type { BridgeResult } from '../../preload/api';
import type {
  CheckResult,
  DownloadResultInfo,
  InstallResultInfo,
  UpdaterService,
  VersionInfo,
} from '../../main/updater/service';
import type { UpdateInfo, UpdateSignature, UpdateState, UpdateStateInput } from '../../main/updater/state';

export const RENDERER_FILE = '/opt/backend-updater/dist/renderer/index.html';
export const DEV_SERVER_URL = 'http://localhost:5173';

/** Id of the trusted key that signs the updates in these tests, in minisign's 16-hex-digit form. */
export const TRUSTED_KEY_ID = '5F2C9A41D07E3B86';

/** Signature status of an update whose release manifest the trusted test key signed. */
export function verifiedSignature(keyId = TRUSTED_KEY_ID): UpdateSignature {
  return { status: 'verified', keyId };
}

/** Signature status of an update checked without trusted keys. */
export function unsignedSignature(): UpdateSignature {
  return { status: 'unsigned', keyId: null };
}

export function updateInfo(overrides: Partial<UpdateInfo> = {}): UpdateInfo {
  return {
    version: '2.1.0',
    currentVersion: '2.0.0',
    releaseName: 'Backend 2.1.0',
    releaseNotes: '## Fixes\n\n- Faster start-up',
    publishedAt: '2025-02-20T10:00:00.000Z',
    prerelease: false,
    assetName: 'python-backend-2.1.0-linux-x64.tar.gz',
    assetSize: 1_048_576,
    downloadUrl: 'http://127.0.0.1:1/python-backend-2.1.0-linux-x64.tar.gz',
    signature: verifiedSignature(),
    ...overrides,
  };
}

export function versionInfo(overrides: Partial<VersionInfo> = {}): VersionInfo {
  return {
    currentVersion: '2.0.0',
    previousVersion: null,
    backend: { running: true, healthy: true, pid: 4242, port: 8765, version: '2.0.0' },
    ...overrides,
  };
}

/** Frame of the app's own page, as the preload would send from. */
export function appFrame(url = `file://${RENDERER_FILE}`): SenderFrame {
  return { url, parent: null };
}

export function invokeEvent(frame: SenderFrame | null = appFrame()): InvokeEvent {
  return { senderFrame: frame };
}

/** ipcMain stand-in that stores handlers and lets a test invoke them. */
export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, (event: InvokeEvent, ...args: unknown[]) => unknown>();

  handle(channel: string, listener: (event: InvokeEvent, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }

  invoke(channel: string, event: InvokeEvent = invokeEvent(), ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) return Promise.reject(new Error(`No handler registered for '${channel}'`));
    return Promise.resolve(handler(event, ...args));
  }
}

/** BrowserWindow stand-in: reading `webContents` after close throws, as in Electron. */
export class FakeWindow implements PushTarget {
  readonly received: UpdateState[] = [];
  private destroyed = false;
  private readonly contents = {
    isDestroyed: () => this.destroyed,
    send: (channel: string, state: unknown) => {
      if (this.destroyed) throw new TypeError('Object has been destroyed');
      if (channel === 'update-progress') this.received.push(state as UpdateState);
    },
  };

  get webContents(): PushTarget['webContents'] {
    if (this.destroyed) throw new TypeError('Object has been destroyed');
    return this.contents;
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  close(): void {
    this.destroyed = true;
  }
}

interface Gate<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function gate<T>(): Gate<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * UpdaterService stand-in. Each download gets a fresh AbortController;
 * cancel aborts it, returns to `available` and rejects the download with
 * CancelledError. Cancel during install rejects with NOT_CANCELLABLE.
 */
export class FakeUpdater implements UpdaterService {
  state: UpdateState = { type: 'idle', seq: 1, currentVersion: '2.0.0' };
  readonly calls: string[] = [];
  private readonly listeners = new Set<(state: UpdateState) => void>();
  private download$: { gate: Gate<DownloadResultInfo>; controller: AbortController; id: string } | null = null;
  private install$: Gate<InstallResultInfo> | null = null;
  private downloads = 0;
  checkImpl: () => Promise<CheckResult> = async () => {
    const update = updateInfo();
    this.emit({ type: 'available', update });
    return { updateAvailable: true, currentVersion: '2.0.0', latestVersion: update.version, update };
  };

  emit(next: UpdateStateInput): UpdateState {
    this.state = { ...next, seq: this.state.seq + 1 } as UpdateState;
    for (const listener of [...this.listeners]) listener(this.state);
    return this.state;
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  getState(): UpdateState {
    this.calls.push('getState');
    return this.state;
  }

  onState(listener: (state: UpdateState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async getVersion(): Promise<VersionInfo> {
    this.calls.push('getVersion');
    return versionInfo();
  }

  async check(): Promise<CheckResult> {
    this.calls.push('check');
    this.emit({ type: 'checking', currentVersion: '2.0.0' });
    return this.checkImpl();
  }

  download(): Promise<DownloadResultInfo> {
    this.calls.push('download');
    if (this.download$) return this.download$.gate.promise;
    this.downloads += 1;
    const job = { gate: gate<DownloadResultInfo>(), controller: new AbortController(), id: `d${this.downloads}` };
    this.download$ = job;
    return job.gate.promise;
  }

  /** Emits a progress state for the running download. */
  progress(transferred: number, total: number | null = 1_048_576): void {
    const job = this.requireDownload();
    const percent = total ? Math.min(100, (transferred / total) * 100) : null;
    this.emit({ type: 'downloading', update: updateInfo(), downloadId: job.id, transferred, total, bytesPerSecond: 102_400, percent });
  }

  /** Finishes the running download. */
  finishDownload(): DownloadResultInfo {
    const job = this.requireDownload();
    this.download$ = null;
    const result = { version: '2.1.0', sha256: 'ab'.repeat(32), size: 1_048_576 };
    this.emit({ type: 'downloaded', update: updateInfo(), sha256: result.sha256 });
    job.gate.resolve(result);
    return result;
  }

  get currentDownloadSignal(): AbortSignal | null {
    return this.download$?.controller.signal ?? null;
  }

  install(): Promise<InstallResultInfo> {
    this.calls.push('install');
    this.install$ = gate<InstallResultInfo>();
    this.emit({ type: 'installing', update: updateInfo() });
    return this.install$.promise;
  }

  finishInstall(): void {
    this.emit({ type: 'installed', version: '2.1.0', previousVersion: '2.0.0' });
    this.install$?.resolve({ version: '2.1.0', previousVersion: '2.0.0', health: { status: 'ok', version: '2.1.0' } });
    this.install$ = null;
  }

  async cancel(): Promise<boolean> {
    this.calls.push('cancel');
    if (this.state.type === 'installing' || this.state.type === 'restarting') {
      throw new UpdateError('NOT_CANCELLABLE', `The ${this.state.type} step cannot be cancelled.`);
    }
    const job = this.download$;
    if (!job) return false;
    this.download$ = null;
    job.controller.abort();
    this.emit({ type: 'available', update: updateInfo() });
    job.gate.reject(new CancelledError());
    return true;
  }

  private requireDownload() {
    if (!this.download$) throw new Error('FakeUpdater: no download is running');
    return this.download$;
  }
}

/** Returns the error of a failed envelope; fails the test when the envelope is a success. */
export function errorOf(result: BridgeResult<unknown>): UpdateErrorData {
  if (result.ok) throw new Error(`Expected a failed envelope, got ${JSON.stringify(result)}`);
  return result.error;
}

/** Asserts plain data: structuredClone, a JSON round trip and the value itself are equal. */
export function expectPlainData(value: unknown): void {
  const cloned = structuredClone(value);
  const json: unknown = JSON.parse(JSON.stringify(value));
  expect(cloned).toStrictEqual(json);
  expect(json).toStrictEqual(value);
}
