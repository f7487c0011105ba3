import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { silentLogger, type Logger } from '../logger';
import { extractArchive, resolveEntryPath, type ExtractFormat, type ExtractLimits } from './archive';
import { throwIfCancelled, UpdateError } from './errors';
import { activeVersionError, assertEntryPoint, assertVersionName, describePending, exists, isFile, pendingError, toInstallError } from './install/checks';
import { removeStagingLeftovers, REMOVING_PREFIX, REPLACED_PREFIX, restoreReplacedFolders, stagingFolderName } from './install/leftovers';
import { acquireLock } from './install/lock';
import { moveFolder, type RenameFolder } from './install/move';
import { finishPending } from './install/recovery';
import { isVersionName, StateFile, type StoredState } from './install/state-file';

/**
 * Journal entry of an install that has started but not finished.
 * `staging`: an archive is being extracted into `stagingDir`.
 * `activated`: `version` became current but has not passed its health check yet.
 */
export type PendingStep =
  | { step: 'staging'; version: string; stagingDir: string }
  | { step: 'activated'; version: string; previous: string | null; priorPrevious?: string | null };

/** Active version, the version to roll back to, and the unfinished step. */
export interface InstallState {
  current: string | null;
  previous: string | null;
  pending: PendingStep | null;
}

/** Outcome of `recover()` for an install that a crash or kill interrupted. */
export interface RecoveryReport {
  action: 'none' | 'cleaned-staging' | 'rolled-back';
  /** Active version after recovery. */
  current: string | null;
  detail?: string;
}

/** Options of `InstallStore`. */
export interface InstallStoreOptions {
  /** Data folder. The store uses `<home>/backend`. */
  home: string;
  /** File that must exist at the top of every installed version. @default 'main.py' */
  entryPoint?: string;
  logger?: Logger;
  /**
   * Staging folder. @default '<home>/backend/staging'. A folder on another file
   * system than `versions/` works, but each install is then copied instead of renamed.
   */
  stagingDir?: string;
  /** Test seam: renames version and staging folders. @default fs.promises.rename */
  rename?: RenameFolder;
}

/** Input of `stageArchive`. */
export interface StageInput {
  file: string;
  format: ExtractFormat;
  version: string;
  limits?: Partial<ExtractLimits>;
  signal?: AbortSignal;
}

/**
 * Versioned install folders under `<home>/backend` with a journal in
 * `state.json`: `versions/<version>/` (never changed while active), `staging/`,
 * `downloads/` and a `.lock` file. Operations of one store run one at a time.
 */
export class InstallStore {
  readonly backendDir: string;
  readonly versionsDir: string;
  readonly stagingDir: string;
  readonly downloadsDir: string;
  private readonly entryPoint: string;
  private readonly logger: Logger;
  private readonly renameFolder: RenameFolder;
  private readonly stateFile: StateFile;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: InstallStoreOptions) {
    this.backendDir = path.resolve(options.home, 'backend');
    this.versionsDir = path.join(this.backendDir, 'versions');
    this.stagingDir = options.stagingDir === undefined ? path.join(this.backendDir, 'staging') : path.resolve(options.stagingDir);
    this.downloadsDir = path.join(this.backendDir, 'downloads');
    this.entryPoint = options.entryPoint ?? 'main.py';
    this.logger = options.logger ?? silentLogger;
    this.renameFolder = options.rename ?? rename;
    this.stateFile = new StateFile(path.join(this.backendDir, 'state.json'), this.logger);
  }

  /** Creates the folders, then finishes or rolls back an install that was interrupted. */
  async init(): Promise<RecoveryReport> {
    await this.createFolders();
    return this.recover();
  }

  /** Takes the single-instance lock for this data folder and returns its release function. */
  async lock(): Promise<() => Promise<void>> {
    await mkdir(this.backendDir, { recursive: true });
    return acquireLock(path.join(this.backendDir, '.lock'), this.logger);
  }

  /** Reads the state. A missing file means that nothing is installed. */
  async readState(): Promise<InstallState> {
    const { current, previous, pending } = await this.stateFile.read();
    return { current, previous, pending };
  }

  /** Returns the highest version that ever passed its health check, or null. */
  async highestVerified(): Promise<string | null> {
    return (await this.stateFile.read()).highestVerified ?? null;
  }

  /** Returns the folder of a version, or throws INVALID_INPUT for a name that is not a semver version. */
  versionDir(version: string): string {
    assertVersionName(version);
    return path.join(this.versionsDir, version);
  }

  /** Lists the installed version folders, highest version first. */
  async installedVersions(): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(this.versionsDir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const versions = entries.filter((entry) => entry.isDirectory() && isVersionName(entry.name)).map((entry) => entry.name);
    return versions.sort((a, b) => semver.rcompare(a, b));
  }

  /**
   * Extracts an archive into staging, checks that the entry point exists, and
   * renames the result to `versions/<version>`, replacing a folder of that
   * version unless it is the current one. Returns the version folder.
   */
  stageArchive(input: StageInput): Promise<string> {
    return this.exclusive(`stage ${input.version}`, () => this.stage(input));
  }

  /** Makes `version` current and journals it as awaiting its health check. */
  activate(version: string): Promise<{ previous: string | null }> {
    return this.exclusive(`activate ${version}`, () => this.doActivate(version));
  }

  /** Records that `version` passed its health check and prunes versions other than current and previous. */
  confirm(version: string): Promise<void> {
    return this.exclusive(`confirm ${version}`, () => this.doConfirm(version));
  }

  /** Switches back to the previous version and keeps the folder rolled back from. */
  rollback(): Promise<{ current: string | null; previous: string | null }> {
    return this.exclusive('rollback', () => this.doRollback());
  }

  /**
   * Undoes the activation of `version` after it failed to start. The version
   * that was current before it becomes current again, or none (the bundled
   * fallback) after a first install. The rollback target goes back to what it
   * was before, so a failed version is never offered for rollback. The folder
   * of `version` stays until the next prune.
   */
  revertActivation(version: string): Promise<{ current: string | null }> {
    return this.exclusive(`revert ${version}`, () => this.doRevertActivation(version));
  }

  /** Finishes or rolls back an interrupted install and removes leftovers of crashes. */
  recover(): Promise<RecoveryReport> {
    return this.exclusive('recovery', () => this.doRecover());
  }

  private async stage(input: StageInput): Promise<string> {
    const target = this.versionDir(input.version);
    await this.createFolders();
    const state = await this.stateFile.read();
    if (state.current === input.version) throw activeVersionError(input.version, 'replace');
    if (state.pending !== null) throw pendingError(state.pending);
    throwIfCancelled(input.signal);

    const stagingDir = path.join(this.stagingDir, stagingFolderName(input.version, randomBytes(4).toString('hex')));
    await this.stateFile.write({ ...state, pending: { step: 'staging', version: input.version, stagingDir } });
    this.logger.info(`stage start ${input.version} from ${input.file} into ${stagingDir}`);
    try {
      const { file, format, limits, signal } = input;
      const result = await extractArchive({ file, format, destination: stagingDir, limits, signal, logger: this.logger });
      await assertEntryPoint(stagingDir, this.entryPoint, input.file, result.strippedTopFolder);
      throwIfCancelled(input.signal);
      await this.replaceVersionFolder(stagingDir, target, input.version);
    } catch (error) {
      await this.abandonStaging(state, stagingDir, input.version, error);
      throw error;
    }

    await this.stateFile.write({ ...state, pending: null });
    this.logger.info(`stage complete ${input.version} at ${target}`);
    return target;
  }

  /** Moves a staged folder to `target`. An existing copy is moved aside first and put back on failure. */
  private async replaceVersionFolder(source: string, target: string, version: string): Promise<void> {
    let aside: string | null = null;
    if (await exists(target)) {
      aside = path.join(this.versionsDir, `${REPLACED_PREFIX}${version}-${randomBytes(4).toString('hex')}`);
      await this.renameFolder(target, aside);
      this.logger.info(`stage replaces existing ${target}`);
    }

    try {
      await moveFolder(source, target, this.renameFolder, this.logger);
    } catch (error) {
      if (aside !== null) await rename(aside, target);
      throw error;
    }
    if (aside !== null) await rm(aside, { recursive: true, force: true, maxRetries: 3 }).catch((error: Error) => this.logger.warn(`stage could not remove ${aside}: ${error.message}`));
  }

  private async abandonStaging(state: StoredState, stagingDir: string, version: string, cause: unknown): Promise<void> {
    const message = cause instanceof Error ? cause.message : String(cause);
    const code = cause instanceof UpdateError ? `${cause.code}: ` : '';
    this.logger.warn(`stage failed ${version}: ${code}${message}`);
    try {
      await rm(stagingDir, { recursive: true, force: true, maxRetries: 3 });
      await this.stateFile.write({ ...state, pending: null });
    } catch (error) {
      // The journal still names the staging folder, so the next recovery removes it.
      this.logger.error(`stage cleanup of ${stagingDir} failed: ${(error as Error).message}`);
    }
  }

  private async doActivate(version: string): Promise<{ previous: string | null }> {
    const folder = this.versionDir(version);
    const state = await this.stateFile.read();
    if (state.pending !== null) throw pendingError(state.pending);
    if (state.current === version) throw activeVersionError(version, 'activate');
    await this.assertInstalled(version, folder);

    const previous = state.current;
    const pending = { step: 'activated' as const, version, previous, priorPrevious: state.previous };
    await this.stateFile.write({ ...state, current: version, previous, pending });
    this.logger.info(`activate ${version} (previous ${previous ?? 'none'}); awaiting health check`);
    return { previous };
  }

  private async doConfirm(version: string): Promise<void> {
    assertVersionName(version);
    const state = await this.stateFile.read();
    const awaiting = state.pending?.step === 'activated' && state.pending.version === version;
    const confirmedAlready = state.pending === null && state.current === version;
    if (!awaiting && !confirmedAlready) {
      throw new UpdateError(
        'INVALID_STATE',
        `Version ${version} is not waiting for confirmation (current ${state.current ?? 'none'}, pending ${describePending(state.pending)}). Activate it first.`,
      );
    }

    const highest = state.highestVerified;
    const highestVerified = highest === null || highest === undefined || semver.gt(version, highest) ? version : highest;
    if (awaiting || highestVerified !== highest) await this.stateFile.write({ ...state, pending: null, highestVerified });
    if (awaiting) this.logger.info(`confirm ${version}: passed its health check`);
    await this.prune(state.current, state.previous);
  }

  /**
   * Deletes version folders other than `current` and `previous`. Each folder is
   * renamed to a `.removing-` name first, so a crash mid-delete never leaves a
   * half-deleted folder under a version name. Recovery finishes the delete.
   * A folder that cannot be deleted is logged and kept.
   */
  private async prune(current: string | null, previous: string | null): Promise<void> {
    for (const version of await this.installedVersions()) {
      if (version === current || version === previous) continue;
      try {
        const doomed = path.join(this.versionsDir, `${REMOVING_PREFIX}${version}-${randomBytes(4).toString('hex')}`);
        await rename(this.versionDir(version), doomed);
        await rm(doomed, { recursive: true, force: true, maxRetries: 3 });
        this.logger.info(`prune removed version ${version}`);
      } catch (error) {
        this.logger.warn(`prune could not remove version ${version}: ${(error as Error).message}`);
      }
    }
  }

  private async doRollback(): Promise<{ current: string | null; previous: string | null }> {
    const state = await this.stateFile.read();
    const target = state.previous;
    if (target === null) {
      throw new UpdateError('NOTHING_TO_ROLL_BACK', `There is no previous version to roll back to (current ${state.current ?? 'none'}).`);
    }
    await this.assertInstalled(target, this.versionDir(target));

    await this.stateFile.write({ ...state, current: target, previous: state.current, pending: null });
    this.logger.info(`rollback ${state.current ?? 'none'} -> ${target}`);
    return { current: target, previous: state.current };
  }

  private async doRevertActivation(version: string): Promise<{ current: string | null }> {
    const state = await this.stateFile.read();
    const pending = state.pending;
    if (pending?.step !== 'activated' || pending.version !== version) {
      throw new UpdateError('INVALID_STATE', `Version ${version} is not waiting for its health check (pending ${describePending(pending)}), so there is no activation to undo.`);
    }

    const current = pending.previous;
    const previous = await this.installedOrNull(pending.priorPrevious ?? null);
    await this.stateFile.write({ ...state, current, previous, pending: null });
    this.logger.info(`revert ${version} -> ${current ?? 'none (bundled fallback)'}`);
    return { current };
  }

  private async doRecover(): Promise<RecoveryReport> {
    await this.createFolders();
    await restoreReplacedFolders(this.versionsDir, this.logger);
    const state = await this.stateFile.read();
    const report = await finishPending(state, {
      stateFile: this.stateFile,
      stagingDir: this.stagingDir,
      logger: this.logger,
      isInstalled: (version) => isFile(resolveEntryPath(this.versionDir(version), this.entryPoint)),
    });
    await removeStagingLeftovers(this.stagingDir, this.logger);
    const removed = await this.stateFile.removeTempFiles();
    if (removed > 0) this.logger.info(`recovery removed ${removed} temp state files`);
    if (report.action !== 'none' || report.detail !== undefined) this.logger.warn(`recovery ${report.action}: ${report.detail ?? ''}`);
    return report;
  }

  private async installedOrNull(version: string | null): Promise<string | null> {
    if (version === null) return null;
    return (await isFile(resolveEntryPath(this.versionDir(version), this.entryPoint))) ? version : null;
  }

  private async assertInstalled(version: string, folder: string): Promise<void> {
    if (await isFile(resolveEntryPath(folder, this.entryPoint))) return;
    throw new UpdateError('VERSION_NOT_INSTALLED', `Version ${version} is not installed: ${path.join(folder, this.entryPoint)} does not exist. Install it again.`, {
      details: { version, folder },
    });
  }

  private async createFolders(): Promise<void> {
    for (const folder of [this.backendDir, this.versionsDir, this.stagingDir, this.downloadsDir]) await mkdir(folder, { recursive: true });
  }

  /**
   * Runs `task` after every earlier operation of this store has settled. A
   * file system error becomes DISK_FULL or INSTALL_FAILED naming `operation`.
   */
  private exclusive<T>(operation: string, task: () => Promise<T>): Promise<T> {
    const guarded = (): Promise<T> => task().catch((error: unknown) => Promise.reject(toInstallError(error, operation, this.backendDir)));
    const run = this.queue.then(guarded, guarded);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
