/**
 * Stable error codes of the update engine. Callers (CLI, HTTP API, IPC, UI)
 * branch on the code, never on the message text.
 */
export const UPDATE_ERROR_CODES = [
  // Feed
  'NETWORK',
  'RATE_LIMITED',
  'FEED_HTTP',
  'FEED_FORMAT',
  'NO_MATCHING_ASSET',
  'AMBIGUOUS_ASSET',
  // Download
  'DOWNLOAD_HTTP',
  'DOWNLOAD_STALLED',
  'INCOMPLETE_DOWNLOAD',
  'SIZE_MISMATCH',
  'DOWNLOAD_TOO_LARGE',
  'DISK_FULL',
  // Verification
  'CHECKSUM_MISSING',
  'CHECKSUM_FORMAT',
  'CHECKSUM_MISMATCH',
  'SIGNATURE_MISSING',
  'SIGNATURE_INVALID',
  'MANIFEST_MISMATCH',
  // Archive and install
  'ARCHIVE_INVALID',
  'UNSAFE_ARCHIVE_ENTRY',
  'ARCHIVE_TOO_LARGE',
  'ENTRY_POINT_MISSING',
  'INSTALL_FAILED',
  'NOTHING_TO_ROLL_BACK',
  'VERSION_NOT_INSTALLED',
  'DOWNGRADE_REJECTED',
  'LOCKED',
  // Backend process
  'BACKEND_START_FAILED',
  'BACKEND_STOP_FAILED',
  'HEALTH_CHECK_FAILED',
  'VERSION_MISMATCH',
  // Operations
  'BUSY',
  'INVALID_STATE',
  'INVALID_INPUT',
  'NOT_CANCELLABLE',
  'CANCELLED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'INTERNAL',
] as const;

export type UpdateErrorCode = (typeof UPDATE_ERROR_CODES)[number];

/** Plain-data form of an error, safe for IPC, JSON and structuredClone. */
export interface UpdateErrorData {
  code: UpdateErrorCode;
  message: string;
  retryable: boolean;
  details?: Record<string, string | number | boolean | null>;
}

export interface UpdateErrorOptions {
  retryable?: boolean;
  details?: UpdateErrorData['details'];
  cause?: unknown;
}

/** Codes that a plain retry can fix when no explicit `retryable` is given. */
const RETRYABLE_BY_DEFAULT = new Set<UpdateErrorCode>([
  'NETWORK',
  'RATE_LIMITED',
  'FEED_HTTP',
  'DOWNLOAD_HTTP',
  'DOWNLOAD_STALLED',
  'INCOMPLETE_DOWNLOAD',
  'BUSY',
]);

/** Error of the update engine: a stable code, a message for people, and whether a retry can help. */
export class UpdateError extends Error {
  readonly code: UpdateErrorCode;
  readonly retryable: boolean;
  readonly details: UpdateErrorData['details'];

  constructor(code: UpdateErrorCode, message: string, options: UpdateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UpdateError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.details = options.details;
  }

  /** Returns the plain-data form used across IPC, HTTP and the CLI's `--json`. */
  toData(): UpdateErrorData {
    const data: UpdateErrorData = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.details !== undefined) data.details = { ...this.details };
    return data;
  }
}

/** Cancellation by the user or by shutdown; recognised with `instanceof`, never by its text. */
export class CancelledError extends Error {
  constructor(message = 'The operation was cancelled.') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** Returns true for a CancelledError or an AbortError raised by an AbortSignal. */
export function isCancellation(error: unknown): boolean {
  if (error instanceof CancelledError) return true;
  return error instanceof Error && error.name === 'AbortError';
}

/** Throws CancelledError when the signal has been aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Converts any thrown value into plain error data; cancellations become CANCELLED and unknown errors INTERNAL. */
export function toErrorData(error: unknown): UpdateErrorData {
  if (error instanceof UpdateError) return error.toData();
  if (isCancellation(error)) return { code: 'CANCELLED', message: 'The operation was cancelled.', retryable: true };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: `Unexpected error: ${message}`, retryable: false };
}
