import { createWriteStream as createFileWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { downloadHttpError, incompleteError, sizeMismatchError, toDownloadError, tooLargeError } from './download-errors';
import {
  discardPartial,
  downloadRequestHeaders,
  findResumeOffset,
  readPartialMeta,
  writePartialMeta,
  type PartialFile,
  type PartialMeta,
} from './download-partial';
import { createStreamHasher, type StreamHasher } from './download-hash';
import { createMeter, digestWithFallback } from './download-meter';
import { createProgressReporter, type DownloadProgress } from './download-progress';
import { UpdateError, throwIfCancelled } from './errors';
import { httpRequest, redactUrl, type HttpResponse } from './http';
import { verifySha256 } from './verify';
import { createLogger, type Logger } from '../logger';

export type { DownloadProgress } from './download-progress';

export interface DownloadOptions {
  url: string;
  /** Final path. Bytes go to `<destination>.part` in the same folder until every check passes. */
  destination: string;
  /** Size from the feed in bytes, or null when unknown. */
  expectedSize: number | null;
  /** Authorization header value, sent only to `authHost` (see httpRequest). */
  authorization?: string;
  authHost?: string;
  signal?: AbortSignal;
  /** Milliseconds without a byte before DOWNLOAD_STALLED. @default 30000 */
  idleTimeoutMs?: number;
  /** Maximum bytes accepted. @default expectedSize when known, else 4 GiB */
  maxBytes?: number;
  onProgress?: (progress: DownloadProgress) => void;
  /** Minimum milliseconds between progress callbacks. The first and the final one are always sent. @default 100 */
  progressIntervalMs?: number;
  /** Continue a `.part` file left by an earlier attempt with a Range request. @default true */
  resume?: boolean;
  logger?: Logger;
  /** Expected SHA-256, as bare hex or `sha256:<hex>`. On a mismatch the file is deleted and CHECKSUM_MISMATCH thrown. */
  expectedSha256?: string | null;
  /** Test seam that opens the `.part` write stream. @default fs.createWriteStream */
  createWriteStream?: (path: string, options: { flags: 'w' | 'a' }) => Writable;
  /**
   * Hash on a worker thread, so that hashing runs beside receiving and writing.
   * Without a worker (or when it fails) the hash is computed on this thread.
   * @default true when expectedSize is unknown or at least 4 MiB
   */
  hashOnWorker?: boolean;
}

export interface DownloadResult {
  path: string;
  size: number;
  /** Lowercase hex SHA-256 of the whole file, resumed bytes included. */
  sha256: string;
  /** True when the file continues bytes left by an earlier attempt. */
  resumed: boolean;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;
/** Smallest expected size hashed on a worker: below it, starting the worker costs more than the hashing. */
const WORKER_HASH_MIN_BYTES = 4 * 1024 * 1024;
/** Failures after which a `.part` may be resumed: the bytes on disk are good, only the transport broke. */
const RESUMABLE_CODES = new Set(['DOWNLOAD_STALLED', 'INCOMPLETE_DOWNLOAD', 'NETWORK']);

/** Mutable record of one downloadFile call, read by the failure handling. */
interface Job {
  options: DownloadOptions;
  logger: Logger;
  partial: PartialFile;
  maxBytes: number;
  /** Bytes in the `.part` file so far, resumed bytes included. */
  received: number;
  /** True when the `.part` file may be resumed: the server supports byte ranges. */
  rangeSupported: boolean;
  /** Byte count at which the body must end (offset plus Content-Length), when known. */
  bodyEnd: number | null;
  /** Stream that emitted an error first, which distinguishes a broken connection from a failed write. */
  failedStream: 'body' | 'file' | null;
}

/** Plan for a response: where the body starts in the file and how large the file will be. */
interface Transfer {
  offset: number;
  /** Full file size from Content-Length or Content-Range, when the response includes one. */
  total: number | null;
}

/**
 * Downloads `options.url` to `options.destination`, streaming through a SHA-256
 * hash into `<destination>.part` and renaming it only after the size (and the
 * optional SHA-256) check passes. Any file already at the destination is
 * removed first, so a failure leaves no destination file.
 *
 * Resume rule: a `.part` survives a failure only when `resume` is on, the
 * server advertised byte ranges (`Accept-Ranges: bytes` or a 206), and the
 * failure is DOWNLOAD_STALLED, INCOMPLETE_DOWNLOAD or NETWORK. Every other
 * failure, cancellation included, deletes it. A later call resumes the `.part`
 * only when its `.part.json` matches the same URL and expected size.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const job = createJob(options);
  const { logger } = job;
  throwIfCancelled(options.signal);
  const expected = options.expectedSize ?? 'unknown';
  logger.info(`download start ${redactUrl(options.url)} -> ${options.destination} (expected ${expected} bytes)`);
  const startedAt = performance.now();

  try {
    await mkdir(path.dirname(options.destination), { recursive: true });
    await rm(options.destination, { force: true });
    const result = await runDownload(job);
    const elapsed = Math.round(performance.now() - startedAt);
    const resumed = result.resumed ? ' (resumed)' : '';
    logger.info(`download complete ${options.destination}: ${result.size} bytes in ${elapsed} ms, sha256 ${result.sha256}${resumed}`);
    return result;
  } catch (error) {
    const failure = toDownloadError(error, {
      url: options.url,
      partPath: job.partial.partPath,
      received: job.received,
      expected: job.bodyEnd ?? options.expectedSize,
      failedStream: job.failedStream,
      signal: options.signal,
    });
    const keptForResume = await cleanUpAfterFailure(job, failure);
    const code = failure instanceof UpdateError ? failure.code : 'CANCELLED';
    const fate = keptForResume ? `kept ${job.received} bytes in ${job.partial.partPath} for resume` : 'partial file removed';
    logger.warn(`download failed ${redactUrl(options.url)}: ${code}: ${failure.message} (${fate})`);
    throw failure;
  }
}

function createJob(options: DownloadOptions): Job {
  const { expectedSize, url } = options;
  if (expectedSize !== null && (!Number.isSafeInteger(expectedSize) || expectedSize < 0)) {
    throw new UpdateError('INVALID_INPUT', `Invalid expected size ${expectedSize} for ${redactUrl(url)}; give a whole number of bytes or null.`);
  }
  const maxBytes = options.maxBytes ?? expectedSize ?? DEFAULT_MAX_BYTES;
  if (expectedSize !== null && expectedSize > maxBytes) throw tooLargeError(url, expectedSize, maxBytes);

  const partPath = `${options.destination}.part`;
  return {
    options,
    logger: options.logger ?? createLogger('download'),
    partial: { partPath, metaPath: `${partPath}.json`, url, expectedSize },
    maxBytes,
    received: 0,
    rangeSupported: false,
    bodyEnd: null,
    failedStream: null,
  };
}

async function runDownload(job: Job): Promise<DownloadResult> {
  const { options, partial, logger } = job;
  let offset = await findResumeOffset(partial, options.resume !== false, job.maxBytes, logger);
  // A resume record exists only for a server that advertised ranges, so a failure before
  // the next response keeps the bytes already on disk.
  job.received = offset;
  job.rangeSupported = offset > 0;

  for (let attempt = 0; ; attempt += 1) {
    const meta = offset > 0 ? await readPartialMeta(partial.metaPath) : null;
    const resumedHasher = offset > 0 ? await hashPartialFile(job) : null;
    let hasher = resumedHasher;
    try {
      const response = await requestBody(job, offset, meta);
      const transfer = planTransfer(job, response, offset);
      if (transfer !== 'restart') {
        if (transfer.offset === 0 || hasher === null) {
          resumedHasher?.close();
          hasher = createStreamHasher(useWorkerHash(options));
        }
        return await receiveBody(job, response, transfer, hasher);
      }
      response.body.destroy();
      if (attempt > 0) throw downloadHttpError(options.url, response.status, response.url, 'the requested range was not returned');
      logger.info(`download restart ${redactUrl(options.url)}: HTTP ${response.status} does not continue byte ${offset}`);
    } finally {
      hasher?.close();
    }
    await discardPartial(partial);
    offset = 0;
    job.received = 0;
    job.rangeSupported = false;
  }
}

async function requestBody(job: Job, offset: number, meta: PartialMeta | null): Promise<HttpResponse> {
  const { options } = job;
  const response = await httpRequest(options.url, {
    headers: downloadRequestHeaders(offset, meta),
    authorization: options.authorization,
    authHost: options.authHost,
    signal: options.signal,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    timeoutCode: 'DOWNLOAD_STALLED',
  });
  // This listener also covers the time before the pipeline listens, so a socket error never
  // surfaces as an unhandled 'error' event. The destroyed stream keeps the error for pipeline().
  response.body.on('error', () => {
    job.failedStream ??= 'body';
  });
  return response;
}

function useWorkerHash(options: DownloadOptions): boolean {
  return options.hashOnWorker ?? (options.expectedSize === null || options.expectedSize >= WORKER_HASH_MIN_BYTES);
}

/** Starts a hasher with the bytes of the `.part` file that a resumed download continues. */
async function hashPartialFile(job: Job): Promise<StreamHasher> {
  const hasher = createStreamHasher(useWorkerHash(job.options));
  try {
    await hasher.updateFromFile(job.partial.partPath, job.options.signal);
  } catch (error) {
    hasher.close();
    throw error;
  }
  job.logger.info(`download resume ${job.partial.partPath} from byte ${job.received}`);
  return hasher;
}

function headerNumber(value: string | undefined): number | null {
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : null;
}

/** Checks status and sizes before any byte is written. Returns 'restart' when the server did not honour the range. */
function planTransfer(job: Job, response: HttpResponse, offset: number): Transfer | 'restart' {
  const { status, headers } = response;
  const { url, expectedSize } = job.options;
  if (status === 416 && offset > 0) return 'restart';
  if (status < 200 || status > 299) {
    response.body.destroy();
    throw downloadHttpError(url, status, response.url, `HTTP ${status}`);
  }

  const contentLength = headerNumber(headers['content-length']);
  let transfer: Transfer = { offset: 0, total: contentLength };
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headers['content-range']?.trim() ?? '');
    if (offset > 0 && (!range || Number(range[1]) !== offset)) return 'restart';
    if (!range || Number(range[1]) !== offset) {
      response.body.destroy();
      throw downloadHttpError(url, status, response.url, `unrequested partial content "${headers['content-range'] ?? ''}"`);
    }
    const complete = headerNumber(range[3]);
    transfer = { offset, total: complete ?? (contentLength === null ? null : offset + contentLength) };
  }
  job.rangeSupported = status === 206 || /\bbytes\b/i.test(String(headers['accept-ranges'] ?? ''));
  job.bodyEnd = contentLength === null ? null : transfer.offset + contentLength;
  job.received = transfer.offset;

  if (transfer.total !== null && expectedSize !== null && transfer.total !== expectedSize) {
    response.body.destroy();
    throw sizeMismatchError(url, transfer.total, expectedSize, 'the server reports');
  }
  if (transfer.total !== null && transfer.total > job.maxBytes) {
    response.body.destroy();
    throw tooLargeError(url, transfer.total, job.maxBytes);
  }
  return transfer;
}

async function receiveBody(job: Job, response: HttpResponse, transfer: Transfer, hasher: StreamHasher): Promise<DownloadResult> {
  const { options, partial } = job;
  if (transfer.offset === 0 && job.rangeSupported && options.resume !== false) {
    await writePartialMeta(partial, response.headers);
  } else if (transfer.offset === 0) {
    await rm(partial.metaPath, { force: true });
  }

  const openStream = options.createWriteStream ?? ((file, streamOptions) => createFileWriteStream(file, streamOptions));
  const file = openStream(partial.partPath, { flags: transfer.offset > 0 ? 'a' : 'w' });
  file.once('error', () => {
    job.failedStream ??= 'file';
  });
  const progress = createProgressReporter(options, transfer.total ?? options.expectedSize, job.logger);
  progress.start(transfer.offset);
  await pipeline(response.body, createMeter(job, hasher, progress.update), file, { signal: options.signal });

  if (job.bodyEnd !== null && job.received < job.bodyEnd) throw incompleteError(options.url, job.received, job.bodyEnd);
  if (options.expectedSize !== null && job.received !== options.expectedSize) {
    throw sizeMismatchError(options.url, job.received, options.expectedSize, 'the download contains');
  }
  const sha256 = await digestWithFallback(hasher, partial.partPath, job.logger, options.signal);
  if (options.expectedSha256) verifySha256(sha256, options.expectedSha256, path.basename(options.destination));

  await rename(partial.partPath, options.destination);
  await rm(partial.metaPath, { force: true });
  progress.finish(job.received);
  return { path: options.destination, size: job.received, sha256, resumed: transfer.offset > 0 };
}

/** Deletes what a failed download left behind; returns true when the `.part` was kept for resume. */
async function cleanUpAfterFailure(job: Job, failure: Error): Promise<boolean> {
  const keep =
    job.options.resume !== false &&
    job.rangeSupported &&
    job.received > 0 &&
    failure instanceof UpdateError &&
    RESUMABLE_CODES.has(failure.code);
  try {
    if (!keep) await discardPartial(job.partial);
    await rm(job.options.destination, { force: true });
  } catch (error) {
    job.logger.error(`download cleanup of ${job.partial.partPath} failed: ${(error as Error).message}`);
  }
  return keep;
}
