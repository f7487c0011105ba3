import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startLocalFeed } from '../main/demo/local-feed';
import type { Logger } from '../main/logger';
import { selectAsset } from '../main/updater/assets';
import { UpdateError } from '../main/updater/errors';
import { createFeed, EtagCache, ManifestFeed, type FeedOptions } from '../main/updater/feeds/index';
import type { ReleaseFeed } from '../main/updater/feeds/types';
import { selectRelease } from '../main/updater/versions';

const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

interface ServedFile {
  status?: number;
  body: string;
  headers?: Record<string, string>;
}

interface TestServer {
  origin: string;
  requests: { url: string; headers: http.IncomingHttpHeaders }[];
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Serves fixed bodies by path, with ETags so that conditional requests work. Other paths get 404. */
async function startServer(files: Record<string, ServedFile>): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = http.createServer((request, response) => {
    requests.push({ url: request.url ?? '/', headers: request.headers });
    const file = files[request.url ?? '/'];
    if (file === undefined) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    const etag = `"${Buffer.from(file.body).toString('base64url').slice(0, 16)}"`;
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, { etag }).end();
      return;
    }
    response.writeHead(file.status ?? 200, { 'content-type': 'application/json', etag, ...file.headers }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function manifestRelease(version: string, assets: Record<string, unknown>[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { version, name: `Backend ${version}`, notes: `## ${version}`, prerelease: false, published_at: '2024-06-01T00:00:00Z', assets, ...overrides };
}

function json(value: unknown): ServedFile {
  return { body: JSON.stringify(value) };
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug: () => undefined, info: () => undefined, warn: (line) => warnings.push(line), error: () => undefined };
}

function feedOptions(url: string, overrides: Partial<FeedOptions> = {}): FeedOptions {
  return { url, retries: 1, retryBaseDelayMs: 1, ...overrides };
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

describe('ManifestFeed', () => {
  it('maps manifest entries to releases', async () => {
    const manifest = {
      releases: [
        manifestRelease('2.1.0', [{ name: 'python-backend-2.1.0.zip', url: 'https://cdn.test/python-backend-2.1.0.zip', size: 3, sha256: SHA256_ABC }]),
        { version: 'v2.2.0-beta.1', prerelease: true, assets: [] },
      ],
    };
    const server = await startServer({ '/manifest.json': json(manifest) });

    const releases = await new ManifestFeed(feedOptions(`${server.origin}/manifest.json`)).listReleases();

    expect(releases[0]).toEqual({
      tag: '2.1.0',
      name: 'Backend 2.1.0',
      notes: '## 2.1.0',
      draft: false,
      prerelease: false,
      publishedAt: '2024-06-01T00:00:00Z',
      assets: [{ name: 'python-backend-2.1.0.zip', url: 'https://cdn.test/python-backend-2.1.0.zip', size: 3, digest: `sha256:${SHA256_ABC}` }],
    });
    expect(releases[1]).toEqual({
      tag: 'v2.2.0-beta.1',
      name: 'v2.2.0-beta.1',
      notes: '',
      draft: false,
      prerelease: true,
      publishedAt: null,
      assets: [],
    });
  });

  it('resolves relative asset URLs', async () => {
    const assets = [
      { name: 'python-backend-2.1.0-linux-x64.tar.gz', url: '2.1.0/python-backend-2.1.0-linux-x64.tar.gz' },
      { name: 'python-backend-2.1.0-win-x64.zip', url: '/files/python-backend-2.1.0-win-x64.zip' },
      { name: 'SHA256SUMS', url: '../sums/SHA256SUMS' },
    ];
    const server = await startServer({ '/feeds/stable/manifest.json': json({ releases: [manifestRelease('2.1.0', assets)] }) });

    const [release] = await createFeed(feedOptions(`${server.origin}/feeds/stable/manifest.json`)).listReleases();

    expect(release?.assets.map((asset) => asset.url)).toEqual([
      `${server.origin}/feeds/stable/2.1.0/python-backend-2.1.0-linux-x64.tar.gz`,
      `${server.origin}/files/python-backend-2.1.0-win-x64.zip`,
      `${server.origin}/feeds/sums/SHA256SUMS`,
    ]);
    expect(release?.assets.every((asset) => asset.size === null && asset.digest === null)).toBe(true);
  });

  it('resolves against the redirected URL', async () => {
    const target = await startServer({
      '/v2/manifest.json': json({ releases: [manifestRelease('2.1.0', [{ name: 'python-backend-2.1.0.zip', url: 'python-backend-2.1.0.zip' }])] }),
    });
    const server = await startServer({
      '/manifest.json': { status: 302, body: '', headers: { location: `${target.origin}/v2/manifest.json` } },
    });

    const [release] = await createFeed(feedOptions(`${server.origin}/manifest.json`)).listReleases();

    expect(release?.assets[0]?.url).toBe(`${target.origin}/v2/python-backend-2.1.0.zip`);
  });

  it('skips a release with a non-HTTP asset URL', async () => {
    const manifest = {
      releases: [
        manifestRelease('2.2.0', [{ name: 'python-backend-2.2.0.zip', url: 'file:///etc/passwd' }]),
        manifestRelease('2.1.0', [{ name: 'python-backend-2.1.0.zip', url: 'python-backend-2.1.0.zip' }]),
      ],
    };
    const server = await startServer({ '/manifest.json': json(manifest) });
    const logger = recordingLogger();

    const releases = await createFeed(feedOptions(`${server.origin}/manifest.json`, { logger })).listReleases();

    expect(releases.map((release) => release.tag)).toEqual(['2.1.0']);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain('file:///etc/passwd');
  });

  it('skips an entry without version', async () => {
    const manifest = { releases: [{ name: 'no version', assets: [] }, manifestRelease('2.1.0', [])] };
    const server = await startServer({ '/manifest.json': json(manifest) });
    const logger = recordingLogger();

    const releases = await createFeed(feedOptions(`${server.origin}/manifest.json`, { logger })).listReleases();

    expect(releases.map((release) => release.tag)).toEqual(['2.1.0']);
    expect(logger.warnings[0]).toContain('version');
  });

  it('keeps a prefixed sha256 as is', async () => {
    const assets = [{ name: 'python-backend-2.1.0.zip', url: 'a.zip', sha256: ` sha256:${SHA256_ABC.toUpperCase()} ` }];
    const server = await startServer({ '/m.json': json({ releases: [manifestRelease('2.1.0', assets)] }) });

    const [release] = await createFeed(feedOptions(`${server.origin}/m.json`)).listReleases();

    expect(release?.assets[0]?.digest).toBe(`sha256:${SHA256_ABC.toUpperCase()}`);
  });

  it('rejects an array at a manifest feed', async () => {
    const server = await startServer({ '/manifest.json': json([]) });

    const error = await listingError(new ManifestFeed(feedOptions(`${server.origin}/manifest.json`)));

    expect(error.code).toBe('FEED_FORMAT');
    expect(error.message).toContain('"releases" array');
  });

  it('reuses the manifest after 304', async () => {
    const server = await startServer({ '/manifest.json': json({ releases: [manifestRelease('2.1.0', [])] }) });
    const cache = new EtagCache();
    const feed = createFeed(feedOptions(`${server.origin}/manifest.json`, { cache }));

    const first = await feed.listReleases();
    const second = await feed.listReleases();

    expect(second).toEqual(first);
    expect(server.requests[1]?.headers['if-none-match']).toMatch(/^".+"$/);
    expect(cache.hits).toBe(1);
  });

  it('installs from the local feed manifest', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'feed-manifest-test-'));
    cleanups.push(() => fs.rm(root, { recursive: true, force: true }));
    const archive = path.join(root, 'python-backend-2.1.0.zip');
    await fs.writeFile(archive, 'abc');
    const local = await startLocalFeed({ releases: [{ version: '2.1.0', notes: '', files: [archive] }] });
    cleanups.push(() => local.close());

    const releases = await createFeed(feedOptions(local.manifestUrl)).listReleases();
    const selection = selectRelease(releases, { currentVersion: '2.0.0', allowPrerelease: false });
    if (selection.kind !== 'update') throw new Error('expected an update');
    const choice = selectAsset(selection.release, { platform: 'linux', arch: 'x64' });
    const download = await fetch(choice.archive.url);

    expect(choice.archive.url).toBe(`${local.origin}/download/v2.1.0/python-backend-2.1.0.zip`);
    expect(choice.archive.digest).toBe(`sha256:${SHA256_ABC}`);
    expect(await download.text()).toBe('abc');
  });
});

describe('createFeed shape detection', () => {
  it('reads an array as GitHub releases', async () => {
    const server = await startServer({ '/releases': json([{ tag_name: 'v2.1.0', assets: [] }]) });

    const releases = await createFeed(feedOptions(`${server.origin}/releases`)).listReleases();

    expect(releases.map((release) => release.tag)).toEqual(['v2.1.0']);
  });

  it('reads a releases object as a manifest', async () => {
    const server = await startServer({ '/releases': json({ releases: [manifestRelease('2.1.0', [])] }) });

    const releases = await createFeed(feedOptions(`${server.origin}/releases`)).listReleases();

    expect(releases.map((release) => release.tag)).toEqual(['2.1.0']);
  });

  it.each([
    ['an object without releases', { versions: [] }],
    ['a string', 'releases'],
    ['null', null],
    ['releases that are not an array', { releases: {} }],
  ])('rejects %s', async (_label, body) => {
    const server = await startServer({ '/feed': json(body) });

    const error = await listingError(createFeed(feedOptions(`${server.origin}/feed`)));

    expect(error.code).toBe('FEED_FORMAT');
    expect(error.message).toContain('Expected a JSON array of releases');
    expect(error.message).toContain('"releases" array');
  });

  it('rejects an invalid feed URL', () => {
    expect(() => createFeed({ url: 'not a url' })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => createFeed({ url: 'file:///tmp/manifest.json' })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});
