import { Transform } from 'node:stream';
import { sizeMismatchError, tooLargeError } from './download-errors';
import { createStreamHasher, HashWorkerError, type StreamHasher } from './download-hash';
import type { Logger } from '../logger';

/** The part of a download's state that the meter reads and updates. */
export interface MeteredDownload {
  options: { url: string; expectedSize: number | null; signal?: AbortSignal };
  maxBytes: number;
  /** Bytes received so far, resumed bytes included. The meter adds every chunk. */
  received: number;
}

/**
 * Bytes gathered into one write. One 1 MiB write costs far fewer system calls
 * and thread-pool round trips than sixteen 64 KiB socket chunks.
 */
const WRITE_BATCH_BYTES = 1024 * 1024;
/**
 * Maximum time that received bytes wait for a batch to fill. A stalled transfer
 * thus still writes what it received, and a resume continues from there.
 */
const WRITE_FLUSH_MS = 20;

/**
 * Creates the transform between the response body and the `.part` file. It
 * counts, size-checks and hashes each chunk, reports progress, and passes the
 * bytes on in batches of up to 1 MiB. While the hash worker is behind, the
 * transform waits, so the body pauses instead of piling up in memory.
 */
export function createMeter(download: MeteredDownload, hasher: StreamHasher, onBytes: (transferred: number) => void): Transform {
  const { url, expectedSize } = download.options;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let timer: NodeJS.Timeout | null = null;

  const pushPending = (stream: Transform): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (pendingBytes === 0) return;
    stream.push(pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      download.received += chunk.length;
      if (download.received > download.maxBytes) {
        callback(tooLargeError(url, download.received, download.maxBytes));
        return;
      }
      if (expectedSize !== null && download.received > expectedSize) {
        callback(sizeMismatchError(url, download.received, expectedSize, 'the download already contains'));
        return;
      }
      const hashing = hasher.update(chunk);
      onBytes(download.received);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_BATCH_BYTES) pushPending(this);
      else timer ??= setTimeout(() => pushPending(this), WRITE_FLUSH_MS);

      if (hashing === null) callback();
      else hashing.then(() => callback(), callback);
    },
    flush(callback) {
      pushPending(this);
      callback();
    },
    destroy(error, callback) {
      if (timer !== null) clearTimeout(timer);
      callback(error);
    },
  });
}

/**
 * Returns the hasher's digest. When the hash worker failed, the `.part` file,
 * which contains every byte by now, is hashed again on this thread.
 */
export async function digestWithFallback(hasher: StreamHasher, partPath: string, logger: Logger, signal?: AbortSignal): Promise<string> {
  try {
    return await hasher.digest();
  } catch (error) {
    if (!(error instanceof HashWorkerError) || error.code !== null) throw error;
    logger.warn(`download hash worker failed (${error.message}); hashing ${partPath} again on the main thread`);
  }
  const fallback = createStreamHasher(false);
  await fallback.updateFromFile(partPath, signal);
  return fallback.digest();
}
