import { CancelledError, UpdateError, isCancellation } from './errors';
import { redactUrl } from './http';

/** State of a failed download, for error messages and details. */
export interface DownloadFailureContext {
  url: string;
  partPath: string;
  /** Bytes in the `.part` file, resumed bytes included. */
  received: number;
  /** Byte count at which the body should have ended, when known. */
  expected: number | null;
  /** Stream that emitted an error first: the response body or the `.part` write stream. */
  failedStream: 'body' | 'file' | null;
  signal?: AbortSignal;
}

/** Builds INCOMPLETE_DOWNLOAD for a body that ended before its announced size. */
export function incompleteError(url: string, received: number, expected: number | null, cause?: unknown): UpdateError {
  const redacted = redactUrl(url);
  return new UpdateError(
    'INCOMPLETE_DOWNLOAD',
    `Download of ${redacted} ended after ${received} of ${expected ?? 'an unknown number of'} bytes because the connection closed early. Try again.`,
    { cause, details: { url: redacted, received, expected } },
  );
}

/** Builds SIZE_MISMATCH. `observation` describes where `actual` came from, such as "the server reports". */
export function sizeMismatchError(url: string, actual: number, expected: number | null, observation: string): UpdateError {
  const redacted = redactUrl(url);
  return new UpdateError(
    'SIZE_MISMATCH',
    `Size mismatch for ${redacted}: ${observation} ${actual} bytes but the feed lists ${expected}. The asset or the feed is wrong; ask the publisher to fix the release.`,
    { retryable: false, details: { url: redacted, actual, expected } },
  );
}

/** Builds DOWNLOAD_TOO_LARGE for a file that is, or would become, larger than `maxBytes`. */
export function tooLargeError(url: string, size: number, maxBytes: number): UpdateError {
  const redacted = redactUrl(url);
  return new UpdateError(
    'DOWNLOAD_TOO_LARGE',
    `Download of ${redacted} is larger than the limit of ${maxBytes} bytes (at least ${size}). Check the feed or raise the limit.`,
    { retryable: false, details: { url: redacted, size, maxBytes } },
  );
}

/** Builds DOWNLOAD_HTTP. Statuses 5xx, 408 and 429 are retryable, because the others need a change first. */
export function downloadHttpError(url: string, status: number, finalUrl: string, reason: string): UpdateError {
  const redacted = redactUrl(url);
  const retryable = status >= 500 || status === 408 || status === 429;
  const advice = retryable ? 'Try again later.' : 'Check the URL and the access rights.';
  return new UpdateError('DOWNLOAD_HTTP', `Download of ${redacted} failed with HTTP ${status} (${reason}) from ${redactUrl(finalUrl)}. ${advice}`, {
    retryable,
    details: { url: redacted, status, finalUrl: redactUrl(finalUrl) },
  });
}

/**
 * Maps anything thrown during a download to CancelledError or an UpdateError:
 * ENOSPC and EDQUOT become DISK_FULL, a body stream error (such as a socket
 * closed early) INCOMPLETE_DOWNLOAD, and any other file error INTERNAL.
 */
export function toDownloadError(error: unknown, context: DownloadFailureContext): Error {
  if (context.signal?.aborted || isCancellation(error)) {
    return error instanceof CancelledError ? error : new CancelledError('The download was cancelled.');
  }
  if (error instanceof UpdateError) return error;

  const errno = (error as NodeJS.ErrnoException | null)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return new UpdateError(
      'DISK_FULL',
      `No space left on the disk while writing ${context.partPath} after ${context.received} bytes. Free disk space and try again.`,
      { retryable: false, cause: error, details: { path: context.partPath, received: context.received, errno } },
    );
  }
  if (context.failedStream === 'body') return incompleteError(context.url, context.received, context.expected, error);

  return new UpdateError(
    'INTERNAL',
    `Saving the download of ${redactUrl(context.url)} to ${context.partPath} failed (${errno ?? 'no error code'}): ${reason}. Check that the folder is writable.`,
    { cause: error, details: { path: context.partPath, errno: errno ?? null } },
  );
}
