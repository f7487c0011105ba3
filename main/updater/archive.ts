import { mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import { silentLogger, type Logger } from '../logger';
import { ExtractionBudget } from './archive/budget';
import { planExtraction } from './archive/plan';
import type { ArchiveReader } from './archive/reader';
import { TarReader } from './archive/tar';
import { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from './archive/types';
import { createDirectories, createSymlinks } from './archive/write';
import { ZipReader } from './archive/zip';
import { CancelledError, isCancellation, throwIfCancelled, UpdateError } from './errors';

export { resolveEntryPath } from './archive/paths';
export { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from './archive/types';

/** Archive formats that extraction reads. */
export type ExtractFormat = 'zip' | 'tar.gz';

/** Input of `extractArchive`. */
export interface ExtractOptions {
  file: string;
  format: ExtractFormat;
  /** Folder to extract into. It must not exist or be empty, and it is removed on failure. */
  destination: string;
  /** Overrides for some of `DEFAULT_EXTRACT_LIMITS`. */
  limits?: Partial<ExtractLimits>;
  signal?: AbortSignal;
  logger?: Logger;
}

/** Outcome of `extractArchive`. */
export interface ExtractResult {
  /** Files and links written (folders not counted). */
  files: number;
  /** Bytes of file content written. */
  bytes: number;
  /** Single top folder removed from every entry, or null. */
  strippedTopFolder: string | null;
}

/**
 * Extracts a zip or tar.gz archive into `destination`, streaming, after every
 * entry name and link target has been checked to stay inside it.
 *
 * Files get mode 0o644, or 0o755 when the archive marks them executable, and
 * folders 0o755. Symbolic links are created last and must resolve inside the
 * destination. A hard link becomes a copy of the file it names. Limits count
 * entries, bytes written and bytes written per byte of archive. On any failure
 * or cancellation the destination is removed and an UpdateError (or
 * CancelledError) is thrown.
 */
export async function extractArchive(options: ExtractOptions): Promise<ExtractResult> {
  const logger = options.logger ?? silentLogger;
  const limits = resolveLimits(options.limits);
  if (options.format !== 'zip' && options.format !== 'tar.gz') {
    throw new UpdateError('INVALID_INPUT', `Archive format "${String(options.format)}" is not supported. Use "zip" or "tar.gz".`);
  }
  throwIfCancelled(options.signal);
  const archiveSize = await archiveFileSize(options.file);
  const root = await prepareDestination(options.destination);

  logger.info(`extract start ${options.file} (${options.format}, ${archiveSize} bytes) -> ${options.destination}`);
  try {
    const result = await extractInto(root, options, limits, archiveSize);
    const stripped = result.strippedTopFolder === null ? '' : `, top folder "${result.strippedTopFolder}" removed`;
    logger.info(`extract complete ${options.destination}: ${result.files} files, ${result.bytes} bytes${stripped}`);
    return result;
  } catch (error) {
    const failure = toExtractionError(error, options);
    await removeDestination(options.destination, logger);
    if (failure instanceof CancelledError) logger.info(`extract cancelled ${options.file}; removed ${options.destination}`);
    else logger.warn(`extract failed ${options.file}: ${failure.code}: ${failure.message}`);
    throw failure;
  }
}

async function extractInto(root: string, options: ExtractOptions, limits: ExtractLimits, archiveSize: number): Promise<ExtractResult> {
  const { file, signal } = options;
  const reader: ArchiveReader = options.format === 'zip' ? await ZipReader.open(file) : new TarReader(file, limits.maxCompressionRatio);
  try {
    // First pass: declared sizes and counts stop a bomb before anything is written.
    const declared = new ExtractionBudget(limits, file, archiveSize);
    const infos = await reader.list((info) => {
      declared.addEntry();
      declared.addBytes(info.size);
    }, signal);
    const plan = planExtraction(root, infos);
    throwIfCancelled(signal);

    // Second pass: the bytes actually written are counted again.
    await createDirectories(plan);
    const written = new ExtractionBudget(limits, file, archiveSize);
    const links = await reader.extract(plan, written, signal);
    await createSymlinks(root, links);
    const files = plan.entries.filter((entry) => entry !== null).length;
    return { files, bytes: written.bytes, strippedTopFolder: plan.strippedTopFolder };
  } finally {
    reader.close();
  }
}

/** Fills limits that are missing or undefined from the defaults and validates them. */
function resolveLimits(overrides: Partial<ExtractLimits> | undefined): ExtractLimits {
  const limits: ExtractLimits = {
    maxTotalBytes: overrides?.maxTotalBytes ?? DEFAULT_EXTRACT_LIMITS.maxTotalBytes,
    maxEntries: overrides?.maxEntries ?? DEFAULT_EXTRACT_LIMITS.maxEntries,
    maxCompressionRatio: overrides?.maxCompressionRatio ?? DEFAULT_EXTRACT_LIMITS.maxCompressionRatio,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !(value > 0)) {
      throw new UpdateError('INVALID_INPUT', `Extraction limit ${name} must be a positive number, got ${String(value)}.`);
    }
  }
  return limits;
}

async function archiveFileSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (info.isFile()) return info.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  throw new UpdateError('INVALID_INPUT', `Archive file ${file} does not exist or is not a file. Download it again.`, { details: { file } });
}

/** Creates the destination or accepts an empty one, and returns its real path. */
async function prepareDestination(destination: string): Promise<string> {
  try {
    await mkdir(destination, { recursive: true });
  } catch (error) {
    throw new UpdateError('INVALID_INPUT', `Extraction folder ${destination} cannot be created: ${(error as Error).message}.`, { cause: error });
  }

  const children = await readdir(destination);
  if (children.length > 0) {
    throw new UpdateError('INVALID_INPUT', `Extraction folder ${destination} is not empty. Pass a new or empty folder.`, { details: { destination } });
  }
  return realpath(destination);
}

async function removeDestination(destination: string, logger: Logger): Promise<void> {
  try {
    await rm(destination, { recursive: true, force: true, maxRetries: 3 });
  } catch (error) {
    logger.error(`extract cleanup of ${destination} failed: ${(error as Error).message}`);
  }
}

/** Maps any failure to the error that callers branch on. */
function toExtractionError(error: unknown, options: ExtractOptions): UpdateError | CancelledError {
  if (error instanceof UpdateError || error instanceof CancelledError) return error;
  if (isCancellation(error)) return new CancelledError();

  const errno = error as NodeJS.ErrnoException;
  const message = (error instanceof Error ? error.message : String(error)).replace(/\.+$/, '');
  if (errno.code === 'ENOSPC' || errno.code === 'EDQUOT') {
    return new UpdateError('DISK_FULL', `No space left on the disk of ${options.destination} while extracting ${options.file}. Free up space and try again.`, { cause: error });
  }
  if (typeof errno.syscall === 'string') {
    return new UpdateError('INSTALL_FAILED', `Extracting ${options.file} into ${options.destination} failed: ${message}. Check the folder's permissions, then try again.`, { cause: error });
  }
  return new UpdateError('ARCHIVE_INVALID', `Archive ${options.file} is not a valid ${options.format} file: ${message}. Download it again. If this keeps happening, the release file is damaged.`, {
    details: { file: options.file },
    cause: error,
  });
}
