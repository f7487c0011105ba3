import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import { UpdateError } from '../errors';
import { hostOf, httpRequest, readBody, redactUrl, withRetry, type HttpResponse } from '../http';
import { silentLogger, type Logger } from '../../logger';
import { EtagCache } from './etag-cache';

export interface FeedOptions {
  /** GitHub Releases API URL, a URL of the same shape, or a static manifest URL. */
  url: string;
  /** GitHub token, sent as `Authorization: Bearer …` to the feed URL's host only. */
  token?: string;
  /** Maximum number of pages read from a paginated feed. @default 10 */
  maxPages?: number;
  /** Milliseconds without bytes before a feed request fails. @default 30000 */
  idleTimeoutMs?: number;
  logger?: Logger;
  /** Retries of each page request after a network error or a 5xx response. @default 3 */
  retries?: number;
  /** Base delay in milliseconds of the exponential backoff between retries. @default 500 */
  retryBaseDelayMs?: number;
  /** ETag store shared by the feeds of a long-running process. Each feed makes its own when none is given. */
  cache?: EtagCache;
}

/** Settings of one feed, with defaults applied. */
export interface FeedContext {
  feedUrl: URL;
  token: string | undefined;
  maxPages: number;
  idleTimeoutMs: number | undefined;
  retries: number;
  retryBaseDelayMs: number | undefined;
  cache: EtagCache;
  logger: Logger;
}

/** One page of a feed: parsed JSON, either fresh or reused after a 304. */
export interface FeedPage {
  /** URL after redirects, the base for relative URLs in the body. */
  url: string;
  json: unknown;
  /** Raw `Link` header, or null. */
  link: string | null;
  fromCache: boolean;
}

export const DEFAULT_MAX_PAGES = 10;
const DEFAULT_RETRIES = 3;
/** Maximum size in bytes of a feed page read into memory. */
const MAX_PAGE_BYTES = 16 * 1024 * 1024;
/** Maximum size in bytes of an error body read to find the API's `message`. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

const REQUEST_HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
};

/** Applies defaults to feed options and checks the feed URL. */
export function createFeedContext(options: FeedOptions): FeedContext {
  let feedUrl: URL;
  try {
    feedUrl = new URL(options.url);
  } catch {
    throw new UpdateError('INVALID_INPUT', `Invalid feed URL "${options.url}". Give an absolute http:// or https:// URL.`);
  }
  if (feedUrl.protocol !== 'http:' && feedUrl.protocol !== 'https:') {
    throw new UpdateError(
      'INVALID_INPUT',
      `Unsupported feed URL scheme ${feedUrl.protocol} in ${redactUrl(feedUrl)}. Use http:// or https://.`,
    );
  }
  return {
    feedUrl,
    token: options.token || undefined,
    maxPages: Math.max(1, options.maxPages ?? DEFAULT_MAX_PAGES),
    idleTimeoutMs: options.idleTimeoutMs,
    retries: options.retries ?? DEFAULT_RETRIES,
    retryBaseDelayMs: options.retryBaseDelayMs,
    cache: options.cache ?? new EtagCache(),
    logger: options.logger ?? silentLogger,
  };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

/**
 * Fetches one feed page with `If-None-Match` when a copy is cached, and
 * retries network errors and 5xx responses with backoff. Throws RATE_LIMITED,
 * FEED_HTTP or FEED_FORMAT with the URL and status in the message.
 */
export function fetchFeedPage(context: FeedContext, url: string, signal?: AbortSignal): Promise<FeedPage> {
  return withRetry(() => requestPage(context, url, signal), {
    retries: context.retries,
    baseDelayMs: context.retryBaseDelayMs,
    signal,
    logger: context.logger,
    label: `feed page ${redactUrl(url)}`,
  });
}

async function requestPage(context: FeedContext, url: string, signal?: AbortSignal): Promise<FeedPage> {
  const cached = context.cache.lookup(url);
  const headers: Record<string, string> = { ...REQUEST_HEADERS };
  if (cached !== undefined) headers['if-none-match'] = cached.etag;

  const response = await httpRequest(url, {
    headers,
    authorization: context.token === undefined ? undefined : `Bearer ${context.token}`,
    authHost: hostOf(context.feedUrl),
    idleTimeoutMs: context.idleTimeoutMs,
    signal,
  });

  if (response.status === 304) {
    response.body.resume();
    const page = context.cache.reuse(url);
    if (page === undefined) {
      const message = `Feed ${redactUrl(url)} returned 304 Not Modified to a request that had no cached copy.`;
      throw new UpdateError('FEED_HTTP', message, { retryable: false, details: { url: redactUrl(url), status: 304 } });
    }
    context.logger.debug(`feed: ${redactUrl(url)} not modified, reusing the cached page`);
    return { url: page.url, json: page.json, link: page.link, fromCache: true };
  }
  if (response.status < 200 || response.status >= 300) {
    throw await statusError(response, url, context.token !== undefined);
  }

  const json = await readJson(response);
  const link = headerValue(response.headers, 'link');
  const etag = headerValue(response.headers, 'etag');
  if (etag !== null) context.cache.store(url, { etag, json, link, url: response.url });
  else context.cache.delete(url);

  return { url: response.url, json, link, fromCache: false };
}

async function readJson(response: HttpResponse): Promise<unknown> {
  const text = (await readBody(response, MAX_PAGE_BYTES)).toString('utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
  } catch (error) {
    const contentType = headerValue(response.headers, 'content-type') ?? 'no content type';
    throw new UpdateError(
      'FEED_FORMAT',
      `Feed ${redactUrl(response.url)} did not return JSON (${contentType}): ${(error as Error).message}. ` +
        'Check that the URL points to a GitHub Releases API endpoint or a release manifest.',
      { details: { url: redactUrl(response.url), contentType } },
    );
  }
}

/** Reads the `message` field of a JSON error body, as the GitHub API sends it. */
async function readApiMessage(response: HttpResponse): Promise<string | null> {
  try {
    const body = JSON.parse((await readBody(response, MAX_ERROR_BODY_BYTES)).toString('utf8')) as unknown;
    if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
      return body.message;
    }
  } catch {
    response.body.destroy();
  }
  return null;
}

/** Wait in milliseconds after a rate limit whose headers give no end time, the minimum that GitHub documents. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * Returns when a rate limit ends, in the order of GitHub's "Rate limits for
 * the REST API" page: `Retry-After` (seconds or an HTTP date), then
 * `X-RateLimit-Reset` (epoch seconds) unless `X-RateLimit-Remaining` is above
 * 0, else one minute after `now`.
 */
export function rateLimitResetAt(headers: IncomingHttpHeaders, now = Date.now()): Date {
  const retryAfter = headerValue(headers, 'retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter)) return new Date(now + Number(retryAfter) * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return new Date(date);
  }

  // A secondary limit keeps requests in the primary budget, so its reset time is not the end.
  const remaining = headerValue(headers, 'x-ratelimit-remaining')?.trim();
  const reset = headerValue(headers, 'x-ratelimit-reset')?.trim();
  if (reset && /^\d+$/.test(reset) && (remaining === undefined || remaining === '0')) {
    return new Date(Number(reset) * 1000);
  }
  return new Date(now + DEFAULT_RATE_LIMIT_WAIT_MS);
}

/**
 * Tells a rate limit from other refusals: any 429, or a 403 with
 * `X-RateLimit-Remaining: 0`, a `Retry-After` header or a message about a
 * (secondary) rate limit.
 */
function isRateLimited(status: number, headers: IncomingHttpHeaders, apiMessage: string | null): boolean {
  if (status === 429) return true;
  if (status !== 403) return false;
  if (headerValue(headers, 'x-ratelimit-remaining')?.trim() === '0') return true;
  return headerValue(headers, 'retry-after') !== null || /rate limit/i.test(apiMessage ?? '');
}

interface RateLimitContext {
  url: string;
  status: number;
  apiMessage: string | null;
  headers: IncomingHttpHeaders;
  hasToken: boolean;
}

function rateLimitError(context: RateLimitContext): UpdateError {
  const resetAt = rateLimitResetAt(context.headers).toISOString();
  const tokenHint = context.hasToken ? '' : ', or configure a GitHub token to raise the limit';
  const message = `Feed ${context.url} is rate limited (HTTP ${context.status}). Try again after ${resetAt}${tokenHint}.`;
  return new UpdateError('RATE_LIMITED', message, {
    details: {
      url: context.url,
      status: context.status,
      resetAt,
      limit: headerValue(context.headers, 'x-ratelimit-limit'),
      apiMessage: context.apiMessage,
    },
  });
}

function describeStatus(status: number, url: string, apiMessage: string | null): string {
  const reason = apiMessage === null ? `HTTP ${status}` : `HTTP ${status}: ${apiMessage}`;
  if (status === 401) return `Feed ${url} rejected the credentials (${reason}). Check or remove the GitHub token.`;
  if (status === 403) return `Feed ${url} denied access (${reason}). Check the token's permissions and the URL.`;
  if (status === 404) {
    return (
      `Feed ${url} was not found (${reason}). Check the repository owner and name or the URL. ` +
      'A private repository also needs a token.'
    );
  }
  if (status >= 500) return `Feed ${url} failed with a server error (${reason}). Try again later.`;
  return `Feed request to ${url} failed (${reason}).`;
}

async function statusError(response: HttpResponse, requestUrl: string, hasToken: boolean): Promise<UpdateError> {
  const url = redactUrl(response.url || requestUrl);
  const { status, headers } = response;
  const apiMessage = await readApiMessage(response);

  if (isRateLimited(status, headers, apiMessage)) {
    return rateLimitError({ url, status, apiMessage, headers, hasToken });
  }
  return new UpdateError('FEED_HTTP', describeStatus(status, url, apiMessage), {
    retryable: status >= 500,
    details: { url, status, apiMessage },
  });
}

/** Formats zod issues as `path: message` pairs on one line, for logs and errors. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/**
 * Validates each entry of a feed's release list on its own, so one malformed
 * release is skipped with a warning instead of failing the whole check.
 * Throws FEED_FORMAT when the list has entries and none of them is valid.
 */
export function parseEntries<T>(items: unknown[], schema: z.ZodType<T>, url: string, logger: Logger): T[] {
  const parsed: T[] = [];
  let firstProblem = '';
  items.forEach((item, index) => {
    const result = schema.safeParse(item);
    if (result.success) {
      parsed.push(result.data);
      return;
    }
    const problem = describeIssues(result.error);
    firstProblem ||= `entry ${index}: ${problem}`;
    logger.warn(`feed: skipped release entry ${index} of ${redactUrl(url)} because it is invalid: ${problem}`);
  });

  if (items.length > 0 && parsed.length === 0) {
    const message = `Feed ${redactUrl(url)} lists ${items.length} releases and none is valid (${firstProblem}).`;
    throw new UpdateError('FEED_FORMAT', message, { details: { url: redactUrl(url) } });
  }
  return parsed;
}
