import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { CancelledError, UpdateError, type UpdateErrorCode } from './errors';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';

/**
 * The one HTTP client of the engine. Every feed and download request goes
 * through it, so redirect, credential, timeout and retry rules are the same
 * everywhere:
 * - only http: and https: URLs; a redirect from https: to http: is rejected;
 * - at most `maxRedirects` redirects (default 5);
 * - the Authorization header goes only to `authHost` and is dropped as soon
 *   as a redirect leaves that host (signed storage URLs reject a second
 *   credential, and a token must never reach a third party);
 * - `idleTimeoutMs` ends a request whose socket receives nothing for that long,
 *   before or during the body.
 */
export interface HttpRequestOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Value of the Authorization header, sent only while the request host equals `authHost`. */
  authorization?: string;
  /** Host (hostname[:port]) that may receive `authorization`; defaults to the first URL's host. */
  authHost?: string;
  signal?: AbortSignal;
  maxRedirects?: number;
  /** Milliseconds with no bytes on the socket before the request fails. Default 30 000. */
  idleTimeoutMs?: number;
  /** Error code used for an idle timeout; the download path uses DOWNLOAD_STALLED. */
  timeoutCode?: UpdateErrorCode;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** URL after redirects. */
  url: string;
  /** Body stream; the caller must consume or destroy it. */
  body: IncomingMessage;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REDIRECTS = 5;

/** Returns `host[:port]` of a URL, the unit to which credentials are bound. */
export function hostOf(url: string | URL): string {
  return new URL(url).host.toLowerCase();
}

function parseHttpUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UpdateError('INVALID_INPUT', `Invalid URL: ${raw}. Give an absolute http:// or https:// URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UpdateError('INVALID_INPUT', `Unsupported URL scheme ${url.protocol} in ${redactUrl(url)}. Use http:// or https://.`);
  }
  return url;
}

/** Returns the URL without its query string and credentials, for logs and messages. */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    const query = parsed.search ? '?…' : '';
    parsed.search = '';
    return `${parsed.toString()}${query}`;
  } catch {
    return '<invalid URL>';
  }
}

function networkError(error: NodeJS.ErrnoException, url: URL): UpdateError {
  const code = error.code ? ` (${error.code})` : '';
  return new UpdateError('NETWORK', `Request to ${redactUrl(url)} failed${code}: ${error.message}. Check the connection and try again.`, {
    cause: error,
    details: { url: redactUrl(url), errno: error.code ?? null },
  });
}

function sendOnce(url: URL, options: HttpRequestOptions, includeAuth: boolean): Promise<IncomingMessage> {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const headers: Record<string, string> = { 'user-agent': 'backend-updater', ...options.headers };
  if (includeAuth && options.authorization) headers.authorization = options.authorization;

  return new Promise<IncomingMessage>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new CancelledError());
      return;
    }
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(url, { method: options.method ?? 'GET', headers });

    const onAbort = (): void => {
      request.destroy(new CancelledError());
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    // The socket timeout covers both the wait for headers and every gap in the body.
    request.setTimeout(idleTimeoutMs, () => {
      const seconds = Math.round(idleTimeoutMs / 100) / 10;
      request.destroy(
        new UpdateError(options.timeoutCode ?? 'NETWORK', `No data from ${redactUrl(url)} for ${seconds} s; the connection stalled. Try again.`, {
          details: { url: redactUrl(url), idleTimeoutMs },
        }),
      );
    });

    request.on('error', (error: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (error instanceof UpdateError || error instanceof CancelledError) reject(error);
      else reject(networkError(error, url));
    });

    request.on('response', (response) => {
      response.on('close', () => options.signal?.removeEventListener('abort', onAbort));
      // Errors raised by request.destroy() after the response started reach the body stream.
      request.on('error', (error) => {
        if (!response.destroyed) response.destroy(error instanceof UpdateError || error instanceof CancelledError ? error : networkError(error, url));
      });
      resolve(response);
    });
    request.end();
  });
}

/**
 * Sends a request and follows redirects under the rules above. The status is
 * not checked: the caller decides what each status means.
 */
export async function httpRequest(rawUrl: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  let url = parseHttpUrl(rawUrl);
  const authHost = (options.authHost ?? url.host).toLowerCase();
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;

  for (let redirects = 0; ; redirects += 1) {
    const response = await sendOnce(url, options, url.host.toLowerCase() === authHost);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (!REDIRECT_STATUSES.has(status) || !location) {
      return { status, headers: response.headers, url: url.toString(), body: response };
    }
    response.resume();

    if (redirects >= maxRedirects) {
      throw new UpdateError('NETWORK', `Too many redirects (more than ${maxRedirects}) starting from ${redactUrl(rawUrl)}.`, {
        retryable: false,
      });
    }
    const next = parseHttpUrl(new URL(location, url).toString());
    if (url.protocol === 'https:' && next.protocol === 'http:') {
      throw new UpdateError('NETWORK', `Refusing redirect from ${redactUrl(url)} to insecure ${redactUrl(next)}.`, {
        retryable: false,
      });
    }
    url = next;
  }
}

/** Reads a whole body up to `maxBytes`; larger bodies fail instead of filling memory. */
export async function readBody(response: HttpResponse, maxBytes = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body) {
    const buffer = chunk as Buffer;
    length += buffer.length;
    if (length > maxBytes) {
      response.body.destroy();
      throw new UpdateError('FEED_FORMAT', `Response from ${redactUrl(response.url)} is larger than ${maxBytes} bytes.`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

export interface RetryOptions {
  /** Attempts after the first one. Default 3. */
  retries?: number;
  /** Base delay in ms; attempt n waits about base * 2^n with full jitter. Default 500. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  logger?: Logger;
  /** Label for log lines, such as `feed https://host/path`. */
  label?: string;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** Waits `ms` milliseconds, or rejects with CancelledError when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new CancelledError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `operation` and retries it while it throws a retryable UpdateError other
 * than RATE_LIMITED (which has its own reset time), with exponential backoff and
 * full jitter. The number of attempts is bounded.
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 3;
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 10_000;
  const wait = options.sleep ?? sleep;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silentLogger;

  for (let attempt = 0; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      const retryable = error instanceof UpdateError && error.retryable && error.code !== 'RATE_LIMITED';
      if (!retryable || attempt >= retries) throw error;
      const delay = Math.round(random() * Math.min(max, base * 2 ** attempt));
      logger.warn(`retry ${attempt + 1}/${retries} of ${options.label ?? 'request'} in ${delay} ms after ${error.code}: ${error.message}`);
      await wait(delay, options.signal);
    }
  }
}
