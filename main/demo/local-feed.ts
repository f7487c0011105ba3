import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createThrottle } from './throttle';

/** A release to publish on the local feed. */
export interface LocalRelease {
  version: string;
  /** Git tag, `v<version>` by default. */
  tag?: string;
  /** Release title, the tag by default. */
  name?: string;
  /** Release notes in Markdown. */
  notes: string;
  prerelease?: boolean;
  draft?: boolean;
  /** ISO 8601 date. By default, later entries in the list get later dates. */
  publishedAt?: string;
  /** Absolute paths of the files to publish as assets, each named after its file. */
  files: string[];
}

export interface LocalFeedOptions {
  /** Releases in any order. The feed serves them newest `publishedAt` first. */
  releases: LocalRelease[];
  /** Releases per page when the request has no `per_page`. @default 30 */
  pageSize?: number;
  /** Port on 127.0.0.1. @default 0 (any free port) */
  port?: number;
  /** Whether assets carry a `digest` of `sha256:<hex>` rather than null. @default true */
  includeDigest?: boolean;
  /** Token that release listings require as `Authorization: Bearer <token>` or `token <token>`. */
  requireToken?: string;
  /** Download speed cap in bytes per second, so progress can be watched. @default no cap */
  downloadBytesPerSecond?: number;
}

/** A request as the local feed recorded it, with any Authorization value replaced by `[redacted]`. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface LocalFeed {
  /** GitHub Releases API URL of the feed, such as `http://127.0.0.1:PORT/repos/local/backend/releases`. */
  url: string;
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /** URL of the same releases as a static manifest with relative asset URLs. */
  manifestUrl: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Stops the server and ends open sockets. */
  close(): Promise<void>;
}

interface PublishedFile {
  id: number;
  name: string;
  filePath: string;
  size: number;
  sha256: string;
}

interface PublishedRelease {
  id: number;
  tag: string;
  version: string;
  name: string;
  notes: string;
  draft: boolean;
  prerelease: boolean;
  publishedAt: string;
  files: PublishedFile[];
}

interface FeedSettings {
  releases: PublishedRelease[];
  origin: string;
  pageSize: number;
  includeDigest: boolean;
  requireToken: string | undefined;
  downloadBytesPerSecond: number | undefined;
}

export const LOCAL_RELEASES_PATH = '/repos/local/backend/releases';
const MANIFEST_PATH = '/manifest.json';
const DOWNLOAD_PREFIX = '/download/';
const DEFAULT_PAGE_SIZE = 30;
/** Maximum `per_page`, 100 as on GitHub. */
const MAX_PAGE_SIZE = 100;
const BASE_DATE_MS = Date.parse('2024-01-01T00:00:00Z');
const DAY_MS = 24 * 60 * 60 * 1000;

const CONTENT_TYPES: [string, string][] = [
  ['.zip', 'application/zip'],
  ['.tar.gz', 'application/gzip'],
  ['.tgz', 'application/gzip'],
  ['.sha256', 'text/plain'],
  ['.txt', 'text/plain'],
  ['sha256sums', 'text/plain'],
  ['.minisig', 'text/plain'],
  ['.json', 'application/json'],
];

function contentTypeOf(name: string): string {
  const lower = name.toLowerCase();
  return CONTENT_TYPES.find(([suffix]) => lower.endsWith(suffix))?.[1] ?? 'application/octet-stream';
}

async function sha256OfFile(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(filePath), hash);
  return hash.digest('hex');
}

async function publishRelease(release: LocalRelease, index: number, nextAssetId: () => number): Promise<PublishedRelease> {
  const files: PublishedFile[] = [];
  for (const filePath of release.files) {
    const stat = await fs.promises.stat(filePath);
    const sha256 = await sha256OfFile(filePath);
    files.push({ id: nextAssetId(), name: path.basename(filePath), filePath, size: stat.size, sha256 });
  }
  const tag = release.tag ?? `v${release.version}`;
  const defaultDate = new Date(BASE_DATE_MS + index * DAY_MS).toISOString().replace('.000Z', 'Z');
  const publishedAt = release.publishedAt ?? defaultDate;
  return {
    id: index + 1,
    tag,
    version: release.version,
    name: release.name ?? tag,
    notes: release.notes,
    draft: release.draft ?? false,
    prerelease: release.prerelease ?? false,
    publishedAt,
    files,
  };
}

/** Hashes every file and orders the releases newest first. On equal dates the later entry comes first. */
async function publishAll(releases: LocalRelease[]): Promise<PublishedRelease[]> {
  let assetId = 0;
  const published: PublishedRelease[] = [];
  for (const [index, release] of releases.entries()) {
    published.push(await publishRelease(release, index, () => (assetId += 1)));
  }
  return published
    .map((release, index) => ({ release, index, time: Date.parse(release.publishedAt) }))
    .sort((a, b) => b.time - a.time || b.index - a.index)
    .map((entry) => entry.release);
}

function downloadPath(tag: string, name: string): string {
  return `${DOWNLOAD_PREFIX}${encodeURIComponent(tag)}/${encodeURIComponent(name)}`;
}

function releaseJson(release: PublishedRelease, settings: FeedSettings): unknown {
  return {
    id: release.id,
    tag_name: release.tag,
    name: release.name,
    body: release.notes,
    draft: release.draft,
    prerelease: release.prerelease,
    published_at: release.publishedAt,
    html_url: `${settings.origin}/local/backend/releases/tag/${encodeURIComponent(release.tag)}`,
    assets: release.files.map((file) => ({
      id: file.id,
      name: file.name,
      size: file.size,
      content_type: contentTypeOf(file.name),
      digest: settings.includeDigest ? `sha256:${file.sha256}` : null,
      browser_download_url: `${settings.origin}${downloadPath(release.tag, file.name)}`,
    })),
  };
}

function manifestJson(settings: FeedSettings): unknown {
  const releases = settings.releases
    .filter((release) => !release.draft)
    .map((release) => ({
      version: release.version,
      name: release.name,
      notes: release.notes,
      prerelease: release.prerelease,
      published_at: release.publishedAt,
      // Relative to /manifest.json, so clients must resolve them against the manifest URL.
      assets: release.files.map((file) => ({
        name: file.name,
        url: downloadPath(release.tag, file.name).slice(1),
        size: file.size,
        sha256: settings.includeDigest ? file.sha256 : null,
      })),
    }));
  return { releases };
}

function matchesEtag(request: http.IncomingMessage, etag: string): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*');
}

type Request = http.IncomingMessage;
type Response = http.ServerResponse;

/** Sends JSON. A 200 carries an ETag and becomes a 304 when `If-None-Match` matches it. */
function sendJson(request: Request, response: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const etag = `"${createHash('sha1').update(text).digest('hex')}"`;
  if (status === 200 && matchesEtag(request, etag)) {
    response.writeHead(304, { etag, ...headers }).end();
    return;
  }

  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(status === 200 ? { etag } : {}),
    ...headers,
  });
  response.end(request.method === 'HEAD' ? undefined : text);
}

function pageLink(settings: FeedSettings, perPage: number, page: number, relation: string): string {
  return `<${settings.origin}${LOCAL_RELEASES_PATH}?per_page=${perPage}&page=${page}>; rel="${relation}"`;
}

/** Builds a GitHub-style `Link` header for one page, or null when there is only one page. */
function linkHeader(settings: FeedSettings, perPage: number, page: number): string | null {
  const lastPage = Math.max(1, Math.ceil(settings.releases.length / perPage));
  const links: string[] = [];
  if (page > 1) links.push(pageLink(settings, perPage, Math.min(page - 1, lastPage), 'prev'));
  if (page < lastPage) links.push(pageLink(settings, perPage, page + 1, 'next'));
  if (page < lastPage) links.push(pageLink(settings, perPage, lastPage, 'last'));
  if (page > 1) links.push(pageLink(settings, perPage, 1, 'first'));
  return links.length > 0 ? links.join(', ') : null;
}

function positiveInteger(raw: string | null, fallback: number): number {
  const value = raw === null ? NaN : Number(raw);
  return Number.isInteger(value) && value >= 1 ? value : fallback;
}

function hasToken(request: Request, token: string): boolean {
  const header = request.headers.authorization ?? '';
  return header === `Bearer ${token}` || header === `token ${token}`;
}

function serveReleases(request: Request, response: Response, url: URL, settings: FeedSettings): void {
  if (settings.requireToken !== undefined && !hasToken(request, settings.requireToken)) {
    sendJson(request, response, 401, { message: 'Requires authentication' });
    return;
  }
  const perPage = Math.min(MAX_PAGE_SIZE, positiveInteger(url.searchParams.get('per_page'), settings.pageSize));
  const page = positiveInteger(url.searchParams.get('page'), 1);
  const slice = settings.releases.slice((page - 1) * perPage, page * perPage);

  const link = linkHeader(settings, perPage, page);
  const headers: Record<string, string> = link === null ? {} : { link };
  sendJson(request, response, 200, slice.map((release) => releaseJson(release, settings)), headers);
}

type ByteRange = { start: number; end: number } | 'unsatisfiable' | null;

/**
 * Parses a single `Range: bytes=…` header (RFC 9110): `N-`, `N-M` or `-N`.
 * Returns null when there is no header or it has another form, which means
 * the whole file is sent.
 */
function parseRange(header: string | undefined, size: number): ByteRange {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return null;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;

  if (first === '') {
    const length = Number(last);
    return length === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

function findFile(settings: FeedSettings, pathname: string): PublishedFile | null {
  const [tag, name, ...rest] = pathname.slice(DOWNLOAD_PREFIX.length).split('/').map(decodeURIComponent);
  if (rest.length > 0) return null;
  const release = settings.releases.find((entry) => entry.tag === tag);
  return release?.files.find((file) => file.name === name) ?? null;
}

function serveDownload(request: Request, response: Response, file: PublishedFile, bytesPerSecond: number | undefined): void {
  const range = parseRange(request.headers.range, file.size);
  const headers = { 'accept-ranges': 'bytes', 'content-type': contentTypeOf(file.name) };
  if (range === 'unsatisfiable') {
    response.writeHead(416, { ...headers, 'content-range': `bytes */${file.size}` }).end();
    return;
  }

  const start = range?.start ?? 0;
  const end = range?.end ?? file.size - 1;
  const rangeHeaders = range === null ? {} : { 'content-range': `bytes ${start}-${end}/${file.size}` };
  const contentLength = Math.max(0, end - start + 1);
  response.writeHead(range === null ? 200 : 206, { ...headers, ...rangeHeaders, 'content-length': contentLength });
  if (request.method === 'HEAD' || file.size === 0) {
    response.end();
    return;
  }
  const source = fs.createReadStream(file.filePath, { start, end }).on('error', (error) => response.destroy(error));
  if (bytesPerSecond === undefined) {
    source.pipe(response);
    return;
  }
  const throttle = createThrottle(bytesPerSecond);
  response.on('close', () => {
    source.destroy();
    throttle.destroy();
  });
  source.pipe(throttle).pipe(response);
}

function recordRequest(request: Request, requests: RecordedRequest[]): void {
  const headers: RecordedRequest['headers'] = { ...request.headers };
  for (const name of ['authorization', 'proxy-authorization']) {
    if (headers[name] !== undefined) headers[name] = '[redacted]';
  }
  requests.push({ method: request.method ?? 'GET', url: request.url ?? '/', headers });
}

function route(request: Request, response: Response, settings: FeedSettings): void {
  const url = new URL(request.url ?? '/', settings.origin);
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    sendJson(request, response, 405, { message: `Method ${request.method} is not allowed` });
    return;
  }
  if (url.pathname === LOCAL_RELEASES_PATH) {
    serveReleases(request, response, url, settings);
    return;
  }
  if (url.pathname === MANIFEST_PATH) {
    sendJson(request, response, 200, manifestJson(settings));
    return;
  }
  const file = url.pathname.startsWith(DOWNLOAD_PREFIX) ? findFile(settings, url.pathname) : null;
  if (file === null) {
    sendJson(request, response, 404, { message: 'Not Found' });
    return;
  }
  serveDownload(request, response, file, settings.downloadBytesPerSecond);
}

/**
 * Starts a release feed on 127.0.0.1 for the demo and the tests. It serves
 * the GitHub Releases API shape with `per_page`/`page` pagination, `Link`
 * headers and ETags, the same releases as a manifest at `/manifest.json`, and
 * asset downloads under `/download/<tag>/<name>` with byte ranges.
 */
export async function startLocalFeed(options: LocalFeedOptions): Promise<LocalFeed> {
  const releases = await publishAll(options.releases);
  const requests: RecordedRequest[] = [];
  const settings: FeedSettings = {
    releases,
    origin: '',
    pageSize: Math.min(MAX_PAGE_SIZE, Math.max(1, options.pageSize ?? DEFAULT_PAGE_SIZE)),
    includeDigest: options.includeDigest ?? true,
    requireToken: options.requireToken,
    downloadBytesPerSecond: options.downloadBytesPerSecond,
  };

  const server = http.createServer((request, response) => {
    recordRequest(request, requests);
    try {
      route(request, response, settings);
    } catch {
      // A malformed percent-encoding in a download path ends up here.
      sendJson(request, response, 400, { message: 'Bad request' });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  settings.origin = `http://127.0.0.1:${port}`;

  const close = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  return {
    url: `${settings.origin}${LOCAL_RELEASES_PATH}`,
    origin: settings.origin,
    manifestUrl: `${settings.origin}${MANIFEST_PATH}`,
    requests,
    close,
  };
}
