import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startLocalFeed, type LocalFeed, type LocalFeedOptions, type LocalRelease } from '../main/demo/local-feed';

interface ApiAsset {
  id: number;
  name: string;
  size: number;
  content_type: string;
  digest: string | null;
  browser_download_url: string;
}

interface ApiRelease {
  id: number;
  tag_name: string;
  name: string;
  body: string;
  draft: boolean;
  prerelease: boolean;
  published_at: string;
  html_url: string;
  assets: ApiAsset[];
}

let root: string;
let feed: LocalFeed | null = null;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'local-feed-test-'));
});

afterEach(async () => {
  await feed?.close();
  feed = null;
  await fs.rm(root, { recursive: true, force: true });
});

async function writeFile(name: string, content: string | Buffer): Promise<string> {
  const filePath = path.join(root, name);
  await fs.writeFile(filePath, content);
  return filePath;
}

function localRelease(version: string, overrides: Partial<LocalRelease> = {}): LocalRelease {
  return { version, notes: `Notes for ${version}`, files: [], ...overrides };
}

async function start(options: LocalFeedOptions): Promise<LocalFeed> {
  feed = await startLocalFeed(options);
  return feed;
}

async function listPage(url: string, headers: Record<string, string> = {}): Promise<{ response: Response; releases: ApiRelease[] }> {
  const response = await fetch(url, { headers });
  const releases = response.status === 200 ? ((await response.json()) as ApiRelease[]) : [];
  return { response, releases };
}

describe('startLocalFeed', () => {
  it('listens on 127.0.0.1 only', async () => {
    const local = await start({ releases: [] });

    expect(new URL(local.origin).hostname).toBe('127.0.0.1');
    expect(local.url).toBe(`${local.origin}/repos/local/backend/releases`);
    expect(local.manifestUrl).toBe(`${local.origin}/manifest.json`);
  });

  it('serves the GitHub release shape', async () => {
    const archive = await writeFile('python-backend-2.1.0.zip', 'abc');
    const local = await start({
      releases: [localRelease('2.1.0', { name: 'Backend 2.1.0', notes: '## Fixes', publishedAt: '2024-06-01T00:00:00Z', files: [archive] })],
    });

    const { response, releases } = await listPage(local.url);
    const [release] = releases;

    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toMatch(/^".+"$/);
    expect(release).toMatchObject({
      tag_name: 'v2.1.0',
      name: 'Backend 2.1.0',
      body: '## Fixes',
      draft: false,
      prerelease: false,
      published_at: '2024-06-01T00:00:00Z',
    });
    expect(release?.html_url).toContain('/tag/v2.1.0');
    expect(release?.assets[0]).toMatchObject({
      name: 'python-backend-2.1.0.zip',
      size: 3,
      content_type: 'application/zip',
      digest: 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
  });

  it('serves downloads matching the digest', async () => {
    const content = Buffer.from('x'.repeat(5000) + 'end');
    const archive = await writeFile('python-backend-2.1.0.zip', content);
    const local = await start({ releases: [localRelease('2.1.0', { files: [archive] })] });
    const [release] = (await listPage(local.url)).releases;
    const listed = release?.assets[0] as ApiAsset;

    const response = await fetch(listed.browser_download_url);
    const body = Buffer.from(await response.arrayBuffer());

    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(content.length));
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(body.equals(content)).toBe(true);
    expect(listed.digest).toBe(`sha256:${createHash('sha256').update(body).digest('hex')}`);
    expect(new URL(listed.browser_download_url).origin).toBe(local.origin);
  });

  it('omits digests when asked', async () => {
    const archive = await writeFile('python-backend-2.1.0.zip', 'abc');
    const local = await start({ releases: [localRelease('2.1.0', { files: [archive] })], includeDigest: false });

    const [release] = (await listPage(local.url)).releases;

    expect(release?.assets[0]?.digest).toBeNull();
  });

  it('orders releases newest first', async () => {
    const local = await start({
      releases: [
        localRelease('2.0.0', { publishedAt: '2024-05-01T00:00:00Z' }),
        localRelease('1.9.0', { publishedAt: '2024-07-01T00:00:00Z' }),
        localRelease('2.1.0'),
      ],
    });

    const { releases } = await listPage(local.url);

    expect(releases.map((release) => release.tag_name)).toEqual(['v1.9.0', 'v2.0.0', 'v2.1.0']);
  });

  it('paginates with Link headers', async () => {
    const versions = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0'];
    const local = await start({ releases: versions.map((version) => localRelease(version)), pageSize: 2 });

    const first = await listPage(local.url);
    const last = await listPage(`${local.url}?page=3`);
    const beyond = await listPage(`${local.url}?page=4`);
    const wide = await listPage(`${local.url}?per_page=100`);

    expect(first.releases.map((release) => release.tag_name)).toEqual(['v1.4.0', 'v1.3.0']);
    expect(first.response.headers.get('link')).toContain(`<${local.url}?per_page=2&page=2>; rel="next"`);
    expect(first.response.headers.get('link')).toContain(`<${local.url}?per_page=2&page=3>; rel="last"`);
    expect(last.releases.map((release) => release.tag_name)).toEqual(['v1.0.0']);
    expect(last.response.headers.get('link')).not.toContain('rel="next"');
    expect(last.response.headers.get('link')).toContain('rel="prev"');
    expect(beyond.releases).toEqual([]);
    expect(wide.releases).toHaveLength(5);
    expect(wide.response.headers.get('link')).toBeNull();
  });

  it('returns 304 for a matching ETag', async () => {
    const local = await start({ releases: [localRelease('2.1.0')] });
    const first = await listPage(local.url);
    const etag = first.response.headers.get('etag') as string;

    const second = await fetch(local.url, { headers: { 'if-none-match': etag } });
    const stale = await fetch(local.url, { headers: { 'if-none-match': '"other"' } });

    expect(second.status).toBe(304);
    expect(second.headers.get('etag')).toBe(etag);
    expect(stale.status).toBe(200);
    expect(local.requests[1]?.headers['if-none-match']).toBe(etag);
  });

  it('serves a range from an offset', async () => {
    const archive = await writeFile('python-backend-2.1.0.zip', '0123456789');
    const local = await start({ releases: [localRelease('2.1.0', { files: [archive] })] });
    const url = `${local.origin}/download/v2.1.0/python-backend-2.1.0.zip`;

    const tail = await fetch(url, { headers: { range: 'bytes=4-' } });
    const middle = await fetch(url, { headers: { range: 'bytes=2-3' } });
    const suffix = await fetch(url, { headers: { range: 'bytes=-3' } });

    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe('bytes 4-9/10');
    expect(tail.headers.get('content-length')).toBe('6');
    expect(await tail.text()).toBe('456789');
    expect(middle.status).toBe(206);
    expect(await middle.text()).toBe('23');
    expect(suffix.headers.get('content-range')).toBe('bytes 7-9/10');
    expect(await suffix.text()).toBe('789');
  });

  it('returns 416 past the end', async () => {
    const archive = await writeFile('python-backend-2.1.0.zip', '0123456789');
    const local = await start({ releases: [localRelease('2.1.0', { files: [archive] })] });

    const response = await fetch(`${local.origin}/download/v2.1.0/python-backend-2.1.0.zip`, { headers: { range: 'bytes=10-' } });

    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe('bytes */10');
  });

  it('returns 404 for unknown files', async () => {
    const local = await start({ releases: [localRelease('2.1.0')] });

    const missing = await fetch(`${local.origin}/download/v2.1.0/nothing.zip`);
    const bad = await fetch(`${local.origin}/download/v2.1.0/%E0%A4%A`);

    expect(missing.status).toBe(404);
    expect(bad.status).toBe(400);
  });

  it('requires the configured token', async () => {
    const local = await start({ releases: [localRelease('2.1.0')], requireToken: 'secret-token' });

    const anonymous = await fetch(local.url);
    const bearer = await fetch(local.url, { headers: { authorization: 'Bearer secret-token' } });
    const wrong = await fetch(local.url, { headers: { authorization: 'Bearer other' } });

    expect(anonymous.status).toBe(401);
    expect(bearer.status).toBe(200);
    expect(wrong.status).toBe(401);
    expect(local.requests[1]?.headers.authorization).toBe('[redacted]');
    expect(JSON.stringify(local.requests)).not.toContain('secret-token');
  });

  it('lists the manifest with relative URLs', async () => {
    const archive = await writeFile('python-backend-2.1.0.zip', 'abc');
    const local = await start({
      releases: [localRelease('2.1.0', { files: [archive] }), localRelease('2.2.0', { draft: true })],
    });

    const manifest = (await (await fetch(local.manifestUrl)).json()) as { releases: { version: string; assets: { url: string; sha256: string }[] }[] };
    const [entry] = manifest.releases;
    const download = await fetch(new URL(entry?.assets[0]?.url ?? '', local.manifestUrl));

    expect(manifest.releases.map((release) => release.version)).toEqual(['2.1.0']);
    expect(entry?.assets[0]?.url).toBe('download/v2.1.0/python-backend-2.1.0.zip');
    expect(entry?.assets[0]?.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await download.text()).toBe('abc');
  });

  it('closes with a download in progress', async () => {
    const archive = await writeFile('python-backend-2.1.0.zip', Buffer.alloc(32 * 1024 * 1024));
    const local = await start({ releases: [localRelease('2.1.0', { files: [archive] })] });
    const paused = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${local.origin}/download/v2.1.0/python-backend-2.1.0.zip`, (response) => resolve(response.pause())).on('error', reject);
    });
    const ended = new Promise<void>((resolve) => paused.on('close', () => resolve()));

    const started = Date.now();
    await local.close();
    feed = null;
    paused.resume();
    await ended;

    expect(Date.now() - started).toBeLessThan(2000);
    expect(paused.complete).toBe(false);
  });
});
