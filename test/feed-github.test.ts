import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLocalFeed, type LocalFeed, type LocalRelease } from '../main/demo/local-feed';
import type { Logger } from '../main/logger';
import { CancelledError, UpdateError } from '../main/updater/errors';
import { nextPageUrl } from '../main/updater/feeds/github';
import { createFeed, EtagCache, GitHubReleasesFeed, type FeedOptions } from '../main/updater/feeds/index';
import type { ReleaseFeed } from '../main/updater/feeds/types';
import { selectRelease } from '../main/updater/versions';

type Handler = (request: http.IncomingMessage, response: http.ServerResponse, index: number) => void;

interface TestServer {
  url: string;
  origin: string;
  requests: { url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(handler: Handler): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = http.createServer((request, response) => {
    requests.push({ url: request.url ?? '/', headers: request.headers });
    handler(request, response, requests.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  cleanups.push(close);
  return { url: `${origin}/repos/o/r/releases`, origin, requests, close };
}

async function startFeed(releases: LocalRelease[], pageSize?: number, requireToken?: string): Promise<LocalFeed> {
  const feed = await startLocalFeed({ releases, pageSize, requireToken });
  cleanups.push(() => feed.close());
  return feed;
}

function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function apiRelease(tag: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tag_name: tag,
    name: tag,
    body: `Notes for ${tag}`,
    draft: false,
    prerelease: false,
    published_at: '2024-06-01T00:00:00Z',
    assets: [],
    ...overrides,
  };
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug: () => undefined, info: () => undefined, warn: (line) => warnings.push(line), error: () => undefined };
}

function feedOptions(url: string, overrides: Partial<FeedOptions> = {}): FeedOptions {
  return { url, retries: 2, retryBaseDelayMs: 1, ...overrides };
}

async function listingError(feed: ReleaseFeed): Promise<UpdateError> {
  try {
    await feed.listReleases();
  } catch (error) {
    if (error instanceof UpdateError) return error;
    throw error;
  }
  throw new Error(`expected ${feed.description} to fail`);
}

/** 250 releases; the highest version is the oldest, so it sits on the last page. */
function manyReleases(): LocalRelease[] {
  const releases: LocalRelease[] = [{ version: '9.0.0', notes: '', publishedAt: '2020-01-01T00:00:00Z', files: [] }];
  for (let minor = 0; minor < 249; minor += 1) {
    const publishedAt = new Date(Date.parse('2024-01-01T00:00:00Z') + minor * 60_000).toISOString();
    releases.push({ version: `1.${minor}.0`, notes: '', publishedAt, files: [] });
  }
  return releases;
}

describe('GitHubReleasesFeed rate limits', () => {
  const rateLimitBody = {
    message: 'API rate limit exceeded for 203.0.113.7. …',
    documentation_url: '…#rate-limiting',
  };
  const rateLimitHeaders = { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1377013266' };

  it.each([
    ['createFeed', (url: string) => createFeed(feedOptions(url))],
    ['GitHubReleasesFeed', (url: string) => new GitHubReleasesFeed(feedOptions(url))],
  ])('reports 403 as rate limited via %s', async (_name, makeFeed) => {
    const server = await startServer((_request, response) => sendJson(response, 403, rateLimitBody, rateLimitHeaders));

    const error = await listingError(makeFeed(server.url));

    expect(error.code).toBe('RATE_LIMITED');
    expect(error.details?.resetAt).toBe('2013-08-20T15:41:06.000Z');
    expect(error.message).toContain('Try again after 2013-08-20T15:41:06.000Z');
    expect(error.details?.status).toBe(403);
    expect(error.details?.apiMessage).toBe(rateLimitBody.message);
    expect(server.requests).toHaveLength(1);
  });

  it('honours Retry-After on 429', async () => {
    const server = await startServer((_request, response) => sendJson(response, 429, { message: 'slow down' }, { 'retry-after': '120' }));
    const before = Date.now();

    const error = await listingError(createFeed(feedOptions(server.url)));
    const resetAt = Date.parse(String(error.details?.resetAt));

    expect(error.code).toBe('RATE_LIMITED');
    expect(resetAt).toBeGreaterThanOrEqual(before + 119_000);
    expect(resetAt).toBeLessThanOrEqual(Date.now() + 121_000);
    expect(server.requests).toHaveLength(1);
  });

  it('waits a minute after a secondary limit', async () => {
    const message = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';
    const server = await startServer((_request, response) =>
      sendJson(response, 403, { message }, { 'x-ratelimit-remaining': '4000', 'x-ratelimit-reset': '1377013266' }),
    );
    const before = Date.now();

    const error = await listingError(createFeed(feedOptions(server.url)));
    const resetAt = Date.parse(String(error.details?.resetAt));

    expect(error.code).toBe('RATE_LIMITED');
    expect(resetAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(resetAt).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(server.requests).toHaveLength(1);
  });

  it('reports a plain 403 as forbidden', async () => {
    const server = await startServer((_request, response) => sendJson(response, 403, { message: 'Resource not accessible by integration' }));

    const error = await listingError(createFeed(feedOptions(server.url)));

    expect(error.code).toBe('FEED_HTTP');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Resource not accessible by integration');
    expect(server.requests).toHaveLength(1);
  });

  it('rejects a 200 object body', async () => {
    const server = await startServer((_request, response) => sendJson(response, 200, rateLimitBody));

    const viaDetection = await listingError(createFeed(feedOptions(server.url)));
    const viaGitHub = await listingError(new GitHubReleasesFeed(feedOptions(server.url)));

    expect(viaDetection.code).toBe('FEED_FORMAT');
    expect(viaDetection.message).toContain('Expected a JSON array of releases');
    expect(viaGitHub.code).toBe('FEED_FORMAT');
    expect(viaGitHub.message).toContain('API rate limit exceeded');
  });
});

describe('GitHubReleasesFeed HTTP errors', () => {
  it('reports 404 as not found', async () => {
    const server = await startServer((_request, response) => sendJson(response, 404, { message: 'Not Found' }));

    const error = await listingError(createFeed(feedOptions(server.url)));

    expect(error.code).toBe('FEED_HTTP');
    expect(error.details?.status).toBe(404);
    expect(error.message).toContain('was not found');
    expect(error.message).toContain(server.url);
    expect(error.retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('retries 5xx then succeeds', async () => {
    const server = await startServer((_request, response, index) => {
      if (index < 2) sendJson(response, index === 0 ? 500 : 502, { message: 'oops' });
      else sendJson(response, 200, [apiRelease('v2.1.0')]);
    });

    const releases = await createFeed(feedOptions(server.url)).listReleases();

    expect(releases.map((release) => release.tag)).toEqual(['v2.1.0']);
    expect(server.requests).toHaveLength(3);
  });

  it('retries a dropped connection', async () => {
    const server = await startServer((request, response, index) => {
      if (index === 0) request.socket.destroy();
      else sendJson(response, 200, [apiRelease('v2.1.0')]);
    });

    const releases = await createFeed(feedOptions(server.url)).listReleases();

    expect(releases).toHaveLength(1);
    expect(server.requests).toHaveLength(2);
  });

  it('gives up after bounded retries', async () => {
    const server = await startServer((_request, response) => sendJson(response, 503, { message: 'unavailable' }));

    const error = await listingError(createFeed(feedOptions(server.url, { retries: 2 })));

    expect(error.code).toBe('FEED_HTTP');
    expect(error.retryable).toBe(true);
    expect(error.details?.status).toBe(503);
    expect(server.requests).toHaveLength(3);
  });

  it('fails a stalled request after the idle timeout', async () => {
    const server = await startServer(() => undefined);

    const error = await listingError(createFeed(feedOptions(server.url, { idleTimeoutMs: 200, retries: 1 })));

    expect(error.code).toBe('NETWORK');
    expect(error.message).toContain('stalled');
    expect(server.requests).toHaveLength(2);
  });

  it('stops when the signal aborts', async () => {
    const server = await startServer(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);

    const listing = createFeed(feedOptions(server.url)).listReleases({ signal: controller.signal });

    await expect(listing).rejects.toBeInstanceOf(CancelledError);
    expect(server.requests).toHaveLength(1);
  });

  it('rejects an HTML page', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>Releases</title>');
    });

    const error = await listingError(createFeed(feedOptions(server.url)));

    expect(error.code).toBe('FEED_FORMAT');
    expect(error.message).toContain('text/html');
  });
});

describe('GitHubReleasesFeed parsing', () => {
  it('maps API fields to releases', async () => {
    const digest = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    const assets = [
      { name: 'python-backend-2.1.0.zip', size: 3, digest, browser_download_url: 'http://127.0.0.1:9/a.zip' },
      { name: 'python-backend-2.1.0.tar.gz', size: 4, digest: null, browser_download_url: 'http://127.0.0.1:9/a.tar.gz' },
      { name: 'SHA256SUMS', size: 90, browser_download_url: 'http://127.0.0.1:9/SHA256SUMS' },
    ];
    const server = await startServer((_request, response) =>
      sendJson(response, 200, [apiRelease('v2.1.0', { name: null, body: null, prerelease: true, assets })]),
    );

    const [release] = await createFeed(feedOptions(server.url)).listReleases();

    expect(release).toMatchObject({ tag: 'v2.1.0', name: 'v2.1.0', notes: '', prerelease: true, draft: false });
    expect(release?.publishedAt).toBe('2024-06-01T00:00:00Z');
    expect(release?.assets.map((asset) => asset.digest)).toEqual([digest, null, null]);
    expect(release?.assets[0]).toEqual({ name: 'python-backend-2.1.0.zip', size: 3, url: 'http://127.0.0.1:9/a.zip', digest });
  });

  it('offers 2.1.0 past an untagged draft', async () => {
    const listing = [
      { tag_name: 'untagged-a303cf707acdd4a51302', draft: true, assets: [{ name: 'python-backend-2.2.0.zip', browser_download_url: 'http://127.0.0.1:9/x' }] },
      { tag_name: 'v2.1.0', draft: false, prerelease: false, assets: [{ name: 'python-backend-2.1.0.zip', size: 3, browser_download_url: 'http://127.0.0.1:9/y' }] },
    ];
    const server = await startServer((_request, response) => sendJson(response, 200, listing));
    const logger = recordingLogger();

    const releases = await createFeed(feedOptions(server.url, { logger })).listReleases();
    const selection = selectRelease(releases, { currentVersion: '2.0.0', allowPrerelease: false, logger });

    expect(selection).toMatchObject({ kind: 'update', version: '2.1.0' });
    expect(logger.warnings).toEqual([]);
  });

  it('skips one malformed entry with a warning', async () => {
    const server = await startServer((_request, response) => sendJson(response, 200, [{ tag_name: 5 }, apiRelease('v2.1.0')]));
    const logger = recordingLogger();

    const releases = await createFeed(feedOptions(server.url, { logger })).listReleases();

    expect(releases.map((release) => release.tag)).toEqual(['v2.1.0']);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain('entry 0');
  });

  it('rejects a list with no valid entry', async () => {
    const server = await startServer((_request, response) => sendJson(response, 200, [{ id: 1 }, { id: 2 }]));

    const error = await listingError(createFeed(feedOptions(server.url)));

    expect(error.code).toBe('FEED_FORMAT');
    expect(error.message).toContain('none is valid');
  });
});

describe('GitHubReleasesFeed pagination', () => {
  it('reads three pages to the highest version', async () => {
    const local = await startFeed(manyReleases());

    const releases = await createFeed(feedOptions(`${local.url}?per_page=100`)).listReleases();
    const selection = selectRelease(releases, { currentVersion: '2.0.0', allowPrerelease: false });

    expect(releases).toHaveLength(250);
    expect(releases.at(-1)?.tag).toBe('v9.0.0');
    expect(selection).toMatchObject({ kind: 'update', version: '9.0.0' });
    expect(local.requests.map((request) => new URL(request.url, local.origin).searchParams.get('page'))).toEqual([null, '2', '3']);
  });

  it('stops at the page cap with a warning', async () => {
    const local = await startFeed(manyReleases());
    const logger = recordingLogger();

    const releases = await createFeed(feedOptions(`${local.url}?per_page=100`, { maxPages: 2, logger })).listReleases();

    expect(releases).toHaveLength(200);
    expect(local.requests).toHaveLength(2);
    expect(logger.warnings.some((line) => line.includes('page cap of 2'))).toBe(true);
  });

  it('stays on the feed origin', async () => {
    const other = await startServer((_request, response) => sendJson(response, 200, [apiRelease('v9.9.9')]));
    const server = await startServer((_request, response) =>
      sendJson(response, 200, [apiRelease('v2.1.0')], { link: `<${other.url}?page=2>; rel="next"` }),
    );
    const logger = recordingLogger();

    const releases = await createFeed(feedOptions(server.url, { token: 'test-token', logger })).listReleases();

    expect(releases.map((release) => release.tag)).toEqual(['v2.1.0']);
    expect(other.requests).toHaveLength(0);
    expect(logger.warnings.some((line) => line.includes('another origin'))).toBe(true);
  });

  it('stops on a link loop', async () => {
    const server = await startServer((request, response) =>
      sendJson(response, 200, [apiRelease('v2.1.0')], { link: `<${request.url}>; rel="next"` }),
    );

    const releases = await createFeed(feedOptions(server.url)).listReleases();

    expect(releases).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
  });
});

describe('GitHubReleasesFeed ETag cache', () => {
  it('reuses pages after 304', async () => {
    const local = await startFeed(manyReleases());
    const cache = new EtagCache();
    const feed = createFeed(feedOptions(`${local.url}?per_page=100`, { cache }));

    const first = await feed.listReleases();
    const second = await feed.listReleases();

    expect(second).toEqual(first);
    expect(local.requests).toHaveLength(6);
    expect(local.requests.slice(0, 3).every((request) => request.headers['if-none-match'] === undefined)).toBe(true);
    expect(local.requests.slice(3).every((request) => typeof request.headers['if-none-match'] === 'string')).toBe(true);
    expect(cache.requests).toBe(6);
    expect(cache.hits).toBe(3);
  });

  it('shares a cache between feeds', async () => {
    const local = await startFeed([{ version: '2.1.0', notes: '', files: [] }]);
    const cache = new EtagCache();

    await createFeed(feedOptions(local.url, { cache })).listReleases();
    const releases = await new GitHubReleasesFeed(feedOptions(local.url, { cache })).listReleases();

    expect(releases.map((release) => release.tag)).toEqual(['v2.1.0']);
    expect(cache.hits).toBe(1);
  });
});

describe('GitHubReleasesFeed token', () => {
  it('sends the token and API headers', async () => {
    const server = await startServer((_request, response) => sendJson(response, 200, [apiRelease('v2.1.0')]));

    await createFeed(feedOptions(server.url, { token: 'test-token' })).listReleases();
    const headers = server.requests[0]?.headers;

    expect(headers?.authorization).toBe('Bearer test-token');
    expect(headers?.accept).toBe('application/vnd.github+json');
    expect(headers?.['x-github-api-version']).toBe('2022-11-28');
  });

  it('sends no Authorization without a token', async () => {
    const server = await startServer((_request, response) => sendJson(response, 200, []));

    await createFeed(feedOptions(server.url)).listReleases();

    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('sends the token on every page', async () => {
    const local = await startFeed(manyReleases(), 100, 'test-token');

    const releases = await createFeed(feedOptions(local.url, { token: 'test-token' })).listReleases();
    const anonymous = await listingError(createFeed(feedOptions(local.url)));

    expect(releases).toHaveLength(250);
    expect(local.requests.slice(0, 3).map((request) => request.headers.authorization)).toEqual(['[redacted]', '[redacted]', '[redacted]']);
    expect(anonymous.code).toBe('FEED_HTTP');
    expect(anonymous.details?.status).toBe(401);
  });

  it('drops the token on a redirect to another host', async () => {
    const other = await startServer((_request, response) => sendJson(response, 200, [apiRelease('v2.1.0')]));
    const server = await startServer((_request, response) => response.writeHead(302, { location: other.url }).end());

    const releases = await createFeed(feedOptions(server.url, { token: 'test-token' })).listReleases();

    expect(releases).toHaveLength(1);
    expect(server.requests[0]?.headers.authorization).toBe('Bearer test-token');
    expect(other.requests[0]?.headers.authorization).toBeUndefined();
  });
});

describe('nextPageUrl', () => {
  it('finds rel next among relations', () => {
    const link = '<https://h.test/r?page=3>; rel="last", <https://h.test/r?page=2>; rel="next"';

    expect(nextPageUrl(link, 'https://h.test/r')).toBe('https://h.test/r?page=2');
  });

  it('resolves relative targets', () => {
    expect(nextPageUrl('</r?page=2>; rel=next', 'https://h.test/r')).toBe('https://h.test/r?page=2');
  });

  it('returns null without next', () => {
    expect(nextPageUrl('<https://h.test/r?page=1>; rel="prev"', 'https://h.test/r')).toBeNull();
    expect(nextPageUrl(null, 'https://h.test/r')).toBeNull();
  });
});
