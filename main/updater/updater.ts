import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { UpdaterConfig } from '../config';
import type { Logger } from '../logger';
import { createLogger } from '../logger';
import type { BackendHealth, BackendSupervisor } from '../backend/supervisor';
import { applyUpdate, createSupervisor, runnableDir, type ApplyContext } from './apply';
import { findUpdate, type FoundUpdate } from './check';
import { isCancellation, toErrorData, UpdateError, type UpdateErrorCode } from './errors';
import type { DownloadProgress } from './download';
import { fetchUpdate, type FetchedUpdate } from './fetch-update';
import { createFeed } from './feeds';
import type { ReleaseFeed } from './feeds/types';
import { withRetry } from './http';
import { InstallStore, type RecoveryReport } from './install';
import { RateLimitedFeed } from './rate-limited-feed';
import type { CheckResult, DownloadResultInfo, InstallResultInfo, UpdaterService, VersionInfo } from './service';
import { downloadPercent, type UpdateInfo, type UpdateState, type UpdateStateInput } from './state';
import { StateStore } from './state-store';

export interface BackendUpdaterOptions {
  config: UpdaterConfig;
  logger?: Logger;
  /** Release feed; built from `config.feedUrl` when absent. */
  feed?: ReleaseFeed;
  /** Supervisor of the backend process; built from `config.backend` when absent. */
  supervisor?: BackendSupervisor;
  store?: InstallStore;
  /**
   * True when this process hosts the backend for a long time (the app, `serve`):
   * an installed version is then left running. False for one-shot commands,
   * which only start a new version briefly to check its health.
   */
  keepBackendRunning?: boolean;
  /** Retries of a download after a transient failure (stall, early end, network error, 5xx). @default 3 */
  downloadRetries?: number;
  /** Base delay in milliseconds of the backoff between download attempts, with full jitter. @default 500 */
  retryBaseDelayMs?: number;
  /** Runs at each step boundary of an install; the crash-safety tests stop the process there. */
  onInstallStep?: ApplyContext['onStep'];
}

/** Creates the release feed that a configuration names, with its token, page cap and idle timeout. */
export function createConfiguredFeed(config: UpdaterConfig, logger: Logger): ReleaseFeed {
  return createFeed({ url: config.feedUrl, token: config.token, maxPages: config.maxPages, idleTimeoutMs: config.idleTimeoutMs, logger });
}

/** Errors that come from the archive's content: a new download is needed, not a retry of the same file. */
const ARCHIVE_CONTENT_ERRORS = new Set<UpdateErrorCode>(['ARCHIVE_INVALID', 'UNSAFE_ARCHIVE_ENTRY', 'ARCHIVE_TOO_LARGE', 'ENTRY_POINT_MISSING', 'VERSION_MISMATCH']);

/** Operation that is running, so that a second request can join or be rejected. */
interface Running<T> {
  promise: Promise<T>;
  controller: AbortController;
}

/**
 * Drives check, download, verify, install and restart as one state machine
 * and emits every state change. Commands check the state first: a check or
 * download requested while one runs joins it, an install while a download or
 * install runs fails with BUSY, and a rejected command leaves the state as it
 * was. A download that fails for a transient reason is retried with backoff
 * under the same download id, and after a rate limit the feed gets no request
 * before its reset time.
 */
export class BackendUpdater implements UpdaterService {
  readonly config: UpdaterConfig;
  readonly store: InstallStore;
  readonly supervisor: BackendSupervisor;
  private readonly logger: Logger;
  private readonly keepBackendRunning: boolean;
  private readonly downloadRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly onInstallStep: ApplyContext['onStep'];
  private readonly feed: ReleaseFeed;
  private readonly states: StateStore;
  private found: FoundUpdate | null = null;
  private fetched: { version: string; result: FetchedUpdate } | null = null;
  private checking: Running<CheckResult> | null = null;
  private downloading: Running<DownloadResultInfo> | null = null;
  private installing: Promise<InstallResultInfo> | null = null;

  constructor(options: BackendUpdaterOptions) {
    this.config = options.config;
    this.logger = options.logger ?? createLogger('updater');
    this.keepBackendRunning = options.keepBackendRunning ?? false;
    this.downloadRetries = options.downloadRetries ?? 3;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 500;
    this.onInstallStep = options.onInstallStep;
    const feed = options.feed ?? createConfiguredFeed(this.config, this.logger);
    this.feed = new RateLimitedFeed(feed, this.logger);
    this.store = options.store ?? new InstallStore({ home: this.config.home, entryPoint: this.config.backend.entryPoint, logger: this.logger });
    this.supervisor = options.supervisor ?? createSupervisor(this.config, this.logger);
    this.states = new StateStore({ type: 'idle', currentVersion: null }, (error) => this.logger.error(`state listener failed: ${(error as Error).message}`));
  }

  /** Creates the data folders and finishes or rolls back an install that a crash interrupted. */
  async init(): Promise<RecoveryReport> {
    const report = await this.store.init();
    if (report.action !== 'none') this.logger.warn(`recovered interrupted install: ${report.action}, active version ${report.current ?? '(none)'}`);
    const current = await this.currentVersion();
    this.setState({ type: 'idle', currentVersion: current });
    return report;
  }

  /** Starts the active version (or the bundled one) and waits until it is healthy. */
  async startBackend(): Promise<BackendHealth | null> {
    const state = await this.store.readState();
    const target = runnableDir(this.config, this.store, state.current);
    if (!target) {
      this.logger.warn('no backend installed and none bundled; nothing to start');
      return null;
    }
    return this.supervisor.start(target.dir, target.version);
  }

  /** Stops the backend process and cancels a running check or download. */
  async stopBackend(): Promise<void> {
    this.checking?.controller.abort();
    this.downloading?.controller.abort();
    // An install owns the backend until it has switched or rolled back; stopping in between would leave neither running.
    if (this.installing) {
      this.logger.info('stop waits for the running install to finish or roll back');
      await this.installing.catch(() => undefined);
    }
    await this.supervisor.stop();
  }

  getState(): UpdateState {
    return this.states.get();
  }

  onState(listener: (state: UpdateState) => void): () => void {
    return this.states.subscribe(listener);
  }

  async currentVersion(): Promise<string | null> {
    const state = await this.store.readState();
    return state.current ?? this.config.bundled?.version ?? null;
  }

  async getVersion(): Promise<VersionInfo> {
    const state = await this.store.readState();
    const status = this.supervisor.status();
    return {
      currentVersion: state.current ?? this.config.bundled?.version ?? null,
      previousVersion: state.previous,
      backend: { running: status.running, healthy: status.healthy, pid: status.pid, port: status.port, version: status.version },
    };
  }

  /** Checks the feed without changing the updater's state, as if `currentVersion` were installed. */
  async checkFor(currentVersion: string): Promise<CheckResult> {
    const outcome = await findUpdate({ feed: this.feed, config: this.config, logger: this.logger }, currentVersion);
    if (outcome.kind === 'none') return { updateAvailable: false, currentVersion: outcome.currentVersion, latestVersion: outcome.latestVersion, update: null };
    return { updateAvailable: true, currentVersion, latestVersion: outcome.found.info.version, update: outcome.found.info };
  }

  check(): Promise<CheckResult> {
    if (this.checking) return this.checking.promise;
    if (this.downloading || this.installing) return Promise.reject(this.busyError('check for updates', `the updater is ${this.states.get().type}`));
    return this.checkOnce();
  }

  /** Starts a check, or joins the one running; callers have checked that no download or install blocks it. */
  private checkOnce(): Promise<CheckResult> {
    if (this.checking) return this.checking.promise;
    const controller = new AbortController();
    const promise = this.runCheck(controller.signal).finally(() => {
      this.checking = null;
    });
    this.checking = { promise, controller };
    return promise;
  }

  private async runCheck(signal: AbortSignal): Promise<CheckResult> {
    const current = await this.currentVersion();
    this.setState({ type: 'checking', currentVersion: current });
    this.logger.info(`check started: current ${current ?? '(none)'}, feed ${this.feed.description}`);
    try {
      const outcome = await findUpdate({ feed: this.feed, config: this.config, logger: this.logger, signal }, current);
      if (outcome.kind === 'none') {
        this.found = null;
        this.setState({ type: 'not-available', currentVersion: outcome.currentVersion, latestVersion: outcome.latestVersion, reason: outcome.reason });
        this.logger.info(`check finished: no update (${outcome.reason}, latest ${outcome.latestVersion ?? 'none'})`);
        return { updateAvailable: false, currentVersion: outcome.currentVersion, latestVersion: outcome.latestVersion, update: null };
      }
      this.found = outcome.found;
      const { info } = outcome.found;
      this.setState({ type: 'available', update: info });
      this.logger.info(`check finished: ${info.version} available (${info.assetName}, ${info.assetSize ?? 'unknown'} bytes)`);
      return { updateAvailable: true, currentVersion: info.currentVersion, latestVersion: info.version, update: info };
    } catch (error) {
      this.fail(error, 'checking', undefined, { type: 'idle', currentVersion: current });
      throw error;
    }
  }

  download(): Promise<DownloadResultInfo> {
    if (this.downloading) return this.downloading.promise;
    if (this.installing) return Promise.reject(this.busyError('download', 'an install is running'));
    return this.downloadOnce();
  }

  /** Starts a download, or joins the one running. */
  private downloadOnce(): Promise<DownloadResultInfo> {
    if (this.downloading) return this.downloading.promise;
    const controller = new AbortController();
    const promise = this.runDownload(controller.signal).finally(() => {
      this.downloading = null;
    });
    this.downloading = { promise, controller };
    return promise;
  }

  private async runDownload(signal: AbortSignal): Promise<DownloadResultInfo> {
    const found = await this.ensureFound();
    const { info } = found;
    if (this.fetched?.version === info.version) {
      const { result } = this.fetched;
      return { version: info.version, sha256: result.sha256, size: result.size };
    }
    const downloadId = randomUUID();
    this.logger.info(`download ${downloadId} started: ${info.assetName} ${info.version}`);
    this.setState({ type: 'downloading', update: info, downloadId, transferred: 0, total: info.assetSize, bytesPerSecond: 0, percent: downloadPercent(0, info.assetSize) });
    try {
      const context = {
        config: this.config,
        logger: this.logger,
        downloadsDir: this.store.downloadsDir,
        signal,
        onProgress: (progress: DownloadProgress) => this.reportProgress(downloadId, info, progress),
      };
      // A transient failure keeps the `.part` file when the server supports ranges, so the next
      // attempt continues it. The state stays `downloading` with the same id across attempts.
      // NOTE: fetchUpdate also retries its small release assets (checksum and signature files),
      // so one that keeps failing is requested up to (downloadRetries + 1) * 4 times.
      const result = await withRetry(() => fetchUpdate(context, found), {
        retries: this.downloadRetries,
        baseDelayMs: this.retryBaseDelayMs,
        signal,
        logger: this.logger,
        label: `download ${downloadId} of ${info.assetName}`,
      });
      this.fetched = { version: info.version, result };
      this.setState({ type: 'downloaded', update: info, sha256: result.sha256 });
      this.logger.info(`download ${downloadId} finished: ${result.size} bytes, sha256 ${result.sha256}`);
      return { version: info.version, sha256: result.sha256, size: result.size };
    } catch (error) {
      this.fail(error, 'downloading', info, { type: 'available', update: info });
      throw error;
    }
  }

  private reportProgress(downloadId: string, info: UpdateInfo, progress: DownloadProgress): void {
    const current = this.states.get();
    if (current.type !== 'downloading' || current.downloadId !== downloadId) return;
    const total = progress.total ?? info.assetSize;
    const transferred = Math.max(current.transferred, progress.transferred);
    const percent = downloadPercent(transferred, total);
    const monotonicPercent = percent === null || current.percent === null ? percent : Math.max(percent, current.percent);
    this.setState({ ...current, transferred, total, bytesPerSecond: progress.bytesPerSecond, percent: monotonicPercent });
  }

  install(): Promise<InstallResultInfo> {
    if (this.installing) return Promise.reject(this.busyError('install', 'an install is already running'));
    if (this.downloading) return Promise.reject(this.busyError('install', 'a download is running; install when it finishes'));
    const promise = this.runInstall().finally(() => {
      this.installing = null;
    });
    this.installing = promise;
    return promise;
  }

  private async runInstall(): Promise<InstallResultInfo> {
    await this.downloadOnce();
    const found = this.found;
    const fetched = this.fetched;
    if (!found || !fetched) throw new UpdateError('INVALID_STATE', 'No downloaded update to install. Check for updates and download first.');
    const { info } = found;
    this.setState({ type: 'installing', update: info });
    this.logger.info(`install started: ${info.version} from ${fetched.result.file}`);
    try {
      const result = await applyUpdate(
        {
          config: this.config,
          logger: this.logger,
          store: this.store,
          supervisor: this.supervisor,
          keepRunning: this.keepBackendRunning,
          onRestarting: () => this.setState({ type: 'restarting', update: info }),
          onStep: this.onInstallStep,
        },
        { file: fetched.result.file, format: found.choice.format, version: info.version },
      );
      this.found = null;
      this.fetched = null;
      this.setState({ type: 'installed', version: result.version, previousVersion: result.previousVersion });
      return result;
    } catch (error) {
      if (error instanceof UpdateError && ARCHIVE_CONTENT_ERRORS.has(error.code)) await this.discardDownload(fetched.result.file);
      this.fail(error, 'installing', info, { type: 'downloaded', update: info, sha256: fetched.result.sha256 });
      throw error;
    }
  }

  /** Deletes a downloaded archive whose content cannot be installed, so the next attempt downloads it again. */
  private async discardDownload(file: string): Promise<void> {
    this.fetched = null;
    await fs.rm(path.dirname(file), { recursive: true, force: true }).catch((error: unknown) => {
      this.logger.warn(`removing the unusable download ${file} failed: ${(error as Error).message}`);
    });
    this.logger.info(`removed the unusable download ${file}`);
  }

  /** Installs an archive from a local file, with no network: the offline path. */
  async installFile(input: { file: string; version: string; format: 'zip' | 'tar.gz' }): Promise<InstallResultInfo> {
    if (this.installing || this.downloading) throw this.busyError('install', 'another download or install is running');
    const context = { config: this.config, logger: this.logger, store: this.store, supervisor: this.supervisor, keepRunning: this.keepBackendRunning, onStep: this.onInstallStep };
    const promise = applyUpdate(context, input);
    this.installing = promise;
    try {
      const result = await promise;
      this.setState({ type: 'installed', version: result.version, previousVersion: result.previousVersion });
      return result;
    } finally {
      this.installing = null;
    }
  }

  async cancel(): Promise<boolean> {
    const state = this.states.get();
    if (state.type === 'installing' || state.type === 'restarting') {
      throw new UpdateError('NOT_CANCELLABLE', `The ${state.type} step cannot be cancelled; it finishes or rolls back by itself.`);
    }
    const running = this.downloading ?? this.checking;
    if (!running) return false;
    this.logger.info(`cancel requested during ${state.type}`);
    running.controller.abort();
    await running.promise.catch(() => undefined);
    return true;
  }

  /** Returns the update found by the last check, running a check when there is none. */
  private async ensureFound(): Promise<FoundUpdate> {
    if (this.found && this.states.get().type !== 'error') return this.found;
    const result = await this.checkOnce();
    if (!result.updateAvailable || !this.found) {
      throw new UpdateError('INVALID_STATE', `No update available: ${result.currentVersion} is current (latest ${result.latestVersion ?? 'none'}).`, { retryable: false });
    }
    return this.found;
  }

  private busyError(command: string, reason: string): UpdateError {
    this.logger.warn(`${command} rejected: ${reason}`);
    return new UpdateError('BUSY', `Cannot ${command} now: ${reason}.`, { retryable: true });
  }

  /** Moves to `error`, or to `onCancel` when the failure is a cancellation. */
  private fail(error: unknown, during: UpdateState['type'], update: UpdateInfo | undefined, onCancel: UpdateStateInput): void {
    if (isCancellation(error)) {
      this.logger.info(`${during} cancelled`);
      this.setState(onCancel);
      return;
    }
    const data = toErrorData(error);
    this.logger.error(`${during} failed: ${data.code}: ${data.message}`);
    this.setState(update ? { type: 'error', error: data, during, update } : { type: 'error', error: data, during });
  }

  private setState(next: UpdateStateInput): void {
    const state = this.states.set(next);
    if (state.type !== 'downloading') this.logger.info(`state -> ${state.type} (seq ${state.seq})`);
  }
}
