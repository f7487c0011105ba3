/**
 * Failure cases reported against other updaters and archive tools, each run
 * through the real path: a feed on 127.0.0.1, BackendUpdater, real downloads,
 * real archives, real folders and the real Python backend.
 */
import { existsSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { vi } from 'vitest';
import { parseConfig, type UpdaterConfigInput } from '../main/config';
import { silentLogger, type Logger } from '../main/logger';
import { SAMPLE_BACKEND_DIR } from '../main/release/pack-sample';
import { UpdateError } from '../main/updater/errors';
import { InstallStore } from '../main/updater/install';
import type { UpdateState } from '../main/updater/state';
import { BackendUpdater, type BackendUpdaterOptions } from '../main/updater/updater';
import { dir, file, hardlink, makeTarGz, makeZip, symlink, zeros, type ArchiveEntry } from './helpers/archives';
import { githubAsset, githubRelease, sendBytes, sendJson, sha256Hex, startReleaseServer, type ReleaseServer } from './helpers/release-server';
import { backendHealth, createWorld, type TestWorld } from './helpers/world';

// Test seam: a write stream whose path contains "enospc-trigger" fails like a full disk after its first chunk.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const { Writable } = await import('node:stream');
  const createWriteStream = ((target: string, options?: Parameters<typeof actual.createWriteStream>[1]) => {
    if (!String(target).includes('enospc-trigger')) return actual.createWriteStream(target, options);
    const real = actual.createWriteStream(target, options);
    let writes = 0;
    return new Writable({
      write(chunk: Buffer, _encoding, callback) {
        writes += 1;
        if (writes === 1) return void real.write(chunk, callback);
        callback(Object.assign(new Error(`ENOSPC: no space left on device, write '${target}'`), { code: 'ENOSPC', errno: -28, syscall: 'write' }));
      },
      final(callback) {
        real.end(callback);
      },
      destroy(error, callback) {
        real.destroy();
        real.once('close', () => callback(error));
      },
    });
  }) as typeof actual.createWriteStream;
  return { ...actual, default: { ...actual, createWriteStream }, createWriteStream };
});

const FEED_PATH = '/repos/o/r/releases';
const ASSET = 'python-backend-2.1.0.zip';
const ASSET_PATH = `/download/${ASSET}`;
const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const ABD = sha256Hex('abd');
const isWindows = process.platform === 'win32';

let tmp: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'failure-cases-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(tmp, { recursive: true, force: true });
});

async function startServer(host?: string): Promise<ReleaseServer> {
  const server = await startReleaseServer(host);
  cleanups.push(() => server.close());
  return server;
}

/** Serves `releases` (built with the server's origin) at the feed path. */
async function feedServer(build: (origin: string) => unknown[]): Promise<ReleaseServer> {
  const server = await startServer();
  server.route(FEED_PATH, (_request, response) => sendJson(response, 200, build(server.origin)));
  return server;
}

/** Builds a release with one "abc" archive at ASSET_PATH, plus optional extra assets. */
function abcRelease(origin: string, overrides: { size?: number | null; digest?: string | null; extra?: Record<string, unknown>[] } = {}): unknown[] {
  const archive = githubAsset(ASSET, `${origin}${ASSET_PATH}`, overrides.size === undefined ? 3 : overrides.size, overrides.digest === undefined ? `sha256:${ABC}` : overrides.digest);
  return [githubRelease('v2.1.0', [archive, ...(overrides.extra ?? [])])];
}

interface UpdaterInput {
  current?: string;
  config?: Partial<UpdaterConfigInput>;
  options?: Partial<BackendUpdaterOptions>;
  logger?: Logger;
}

/** Builds an updater for the feed of `server` whose installed version is the bundled `current`. */
function makeUpdater(server: ReleaseServer, input: UpdaterInput = {}): BackendUpdater {
  const config = parseConfig({
    home: path.join(tmp, 'home'),
    feedUrl: `${server.origin}${FEED_PATH}`,
    platform: 'linux',
    arch: 'x64',
    bundled: input.current === undefined ? null : { dir: path.join(tmp, 'bundled'), version: input.current },
    ...input.config,
  });
  const updater = new BackendUpdater({ config, logger: input.logger ?? silentLogger, retryBaseDelayMs: 1, ...input.options });
  cleanups.push(() => updater.stopBackend());
  return updater;
}

/** Installs 2.0.0 of `world` with the backend kept running on the configured port. */
async function runningOld(world: TestWorld, options: Partial<BackendUpdaterOptions> = {}): Promise<BackendUpdater> {
  const updater = new BackendUpdater({ config: world.config, logger: silentLogger, keepBackendRunning: true, retryBaseDelayMs: 1, ...options });
  cleanups.push(() => updater.stopBackend());
  await updater.init();
  await updater.installFile({ file: world.old.files[0]!, version: '2.0.0', format: 'zip' });
  return updater;
}

async function newWorld(options: Parameters<typeof createWorld>[0] = {}): Promise<TestWorld> {
  const world = await createWorld(options);
  cleanups.push(() => world.cleanup());
  return world;
}

function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, logger: { debug: () => undefined, info: () => undefined, warn: (line) => void warnings.push(line), error: () => undefined } };
}

function recordStates(updater: BackendUpdater): UpdateState[] {
  const states: UpdateState[] = [];
  updater.onState((state) => states.push(state));
  return states;
}

/** Returns the distinct state types in order, with repeats collapsed. */
function typesOf(states: UpdateState[]): string[] {
  return states.map((state) => state.type).filter((type, index, all) => all[index - 1] !== type);
}

async function rejection(promise: Promise<unknown>): Promise<UpdateError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UpdateError);
    return error as UpdateError;
  }
  throw new Error('expected the promise to reject');
}

/** Lists the files (not folders) below `root`, relative with `/`. */
async function filesUnder(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const names = await readdir(root, { recursive: true });
  return names.filter((name) => statSync(path.join(root, name)).isFile()).map((name) => name.split(path.sep).join('/')).sort();
}

function errorState(updater: BackendUpdater): Extract<UpdateState, { type: 'error' }> {
  const state = updater.getState();
  expect(state.type).toBe('error');
  return state as Extract<UpdateState, { type: 'error' }>;
}

/** Entries of a working sample backend release: main.py and VERSION. */
async function sampleEntries(version: string, prefix = ''): Promise<ArchiveEntry[]> {
  const main = await readFile(path.join(SAMPLE_BACKEND_DIR, 'main.py'));
  return [file(`${prefix}main.py`, main), file(`${prefix}VERSION`, `${version}\n`)];
}

describe('draft and untagged releases', () => {
  it('offers 2.1.0 past an untagged draft', async () => {
    const server = await feedServer((origin) => [
      { tag_name: 'untagged-a303cf707acdd4a51302', draft: true, assets: [githubAsset('python-backend-2.2.0.zip', `${origin}/download/python-backend-2.2.0.zip`, null)] },
      { tag_name: 'v2.1.0', draft: false, prerelease: false, assets: [githubAsset('python-backend-2.1.0.zip', `${origin}${ASSET_PATH}`, 3)] },
    ]);
    const { logger, warnings } = recordingLogger();
    const updater = makeUpdater(server, { current: '2.0.0', logger });

    const result = await updater.check();

    expect(result.updateAvailable).toBe(true);
    expect(result.latestVersion).toBe('2.1.0');
    expect(result.update?.assetName).toBe('python-backend-2.1.0.zip');
    expect(updater.getState().type).toBe('available');
    expect(warnings.some((line) => line.includes('303'))).toBe(false);
  });

  it('skips published untagged release with warning', async () => {
    const server = await feedServer((origin) => [
      githubRelease('untagged-a303cf707acdd4a51302', [githubAsset('python-backend-2.2.0.zip', `${origin}/x.zip`, 3)]),
      githubRelease('release-2024-01', [githubAsset('python-backend-2024.zip', `${origin}/y.zip`, 3)]),
      githubRelease('v2.1.0', [githubAsset(ASSET, `${origin}${ASSET_PATH}`, 3)]),
    ]);
    const { logger, warnings } = recordingLogger();
    const updater = makeUpdater(server, { current: '2.0.0', logger });

    const result = await updater.check();

    expect(result.latestVersion).toBe('2.1.0');
    expect(warnings.filter((line) => line.includes('"untagged-a303cf707acdd4a51302"'))).toHaveLength(1);
    expect(warnings.filter((line) => line.includes('"release-2024-01"'))).toHaveLength(1);
  });
});

describe('v prefix and junk tags', () => {
  it('offers 0.30.2 and skips junk', async () => {
    const tags = ['v0.30.2', '0.30.1', 'nipkg-feed', 'v1.0.0.1', 'vv0.31.0', '4.0.19.2979-ls322'];
    const server = await feedServer((origin) => tags.map((tag) => githubRelease(tag, [githubAsset(`python-backend-${tag}.zip`, `${origin}/download/${tag}.zip`, 3)])));
    const { logger, warnings } = recordingLogger();
    const updater = makeUpdater(server, { current: '0.30.1', logger });

    const result = await updater.check();

    expect(result).toMatchObject({ updateAvailable: true, latestVersion: '0.30.2' });
    for (const junk of ['nipkg-feed', 'v1.0.0.1', 'vv0.31.0', '4.0.19.2979-ls322']) {
      expect(warnings.filter((line) => line.includes(`"${junk}"`))).toHaveLength(1);
    }
  });
});

describe('numeric version comparison', () => {
  it.each([
    ['1.0.9', ['v1.0.10'], '1.0.10'],
    ['2.9.0', ['v2.10.0'], '2.10.0'],
    ['0.0.1', ['v0.9.9', 'v0.15.0'], '0.15.0'],
    ['2.1.0-rc.9', ['2.1.0-rc.10'], '2.1.0-rc.10'],
  ])('updates %s to the numeric maximum', async (current, tags, expected) => {
    const server = await feedServer((origin) => tags.map((tag) => githubRelease(tag, [githubAsset(`python-backend-${tag}.zip`, `${origin}/download/${tag}.zip`, 3)])));
    const updater = makeUpdater(server, { current, config: { allowPrerelease: current.includes('-') } });

    const result = await updater.check();

    expect(result.updateAvailable).toBe(true);
    expect(result.latestVersion).toBe(expected);
  });
});

describe('build metadata', () => {
  it.each([
    ['2.34.0', 'v2.34.0+3006da5'],
    ['1.0.0+1', '1.0.0+2'],
  ])('keeps %s against %s', async (current, tag) => {
    const server = await feedServer((origin) => [githubRelease(tag, [githubAsset(ASSET, `${origin}${ASSET_PATH}`, 3)])]);
    server.route(ASSET_PATH, (request, response) => sendBytes(request, response, Buffer.from('abc')));
    const updater = makeUpdater(server, { current });

    const result = await updater.check();
    const download = await rejection(updater.download());

    expect(result.updateAvailable).toBe(false);
    expect(updater.getState()).toMatchObject({ type: 'not-available', reason: 'up-to-date' });
    expect(download.code).toBe('INVALID_STATE');
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(0);
  });
});

describe('feed order', () => {
  it('picks 1.20.0 over later backport', async () => {
    const server = await feedServer((origin) => [
      githubRelease('v1.19.1', [githubAsset('python-backend-1.19.1.zip', `${origin}/a.zip`, 3)], { published_at: '2024-06-02T00:00:00Z' }),
      githubRelease('v1.20.0', [githubAsset('python-backend-1.20.0.zip', `${origin}/b.zip`, 3)], { published_at: '2024-05-20T00:00:00Z' }),
    ]);
    const updater = makeUpdater(server, { current: '1.19.0' });

    const result = await updater.check();

    expect(result.latestVersion).toBe('1.20.0');
    expect(result.update?.assetName).toBe('python-backend-1.20.0.zip');
  });
});

describe('asset choice', () => {
  const names = ['python-backend-2.1.0-macos-arm64.zip', 'python-backend-2.1.0-win-x64.zip.sha256', 'python-backend-2.1.0-win-x64.zip', 'Python-Backend-2.1.0-linux-x64.tar.gz'];

  function mixedFeed(extra: string[] = []): Promise<ReleaseServer> {
    return feedServer((origin) => [githubRelease('v2.1.0', [...names, ...extra].map((name) => githubAsset(name, `${origin}/download/${name}`, 3)))]);
  }

  it.each([
    ['win32', 'x64', 'python-backend-2.1.0-win-x64.zip'],
    ['linux', 'x64', 'Python-Backend-2.1.0-linux-x64.tar.gz'],
    ['darwin', 'arm64', 'python-backend-2.1.0-macos-arm64.zip'],
  ])('picks the archive for %s-%s', async (platform, arch, expected) => {
    const updater = makeUpdater(await mixedFeed(), { current: '2.0.0', config: { platform, arch } });

    const result = await updater.check();

    expect(result.update?.assetName).toBe(expected);
  });

  it('never offers another arch', async () => {
    const updater = makeUpdater(await mixedFeed(), { current: '2.0.0', config: { platform: 'linux', arch: 'arm64' } });

    const error = await rejection(updater.check());

    expect(error.code).toBe('NO_MATCHING_ASSET');
    expect(errorState(updater).error.code).toBe('NO_MATCHING_ASSET');
  });

  it('rejects two fitting archives', async () => {
    const updater = makeUpdater(await mixedFeed(['python-backend-2.1.0-windows-amd64.tar.gz']), { current: '2.0.0', config: { platform: 'win32', arch: 'x64' } });

    const error = await rejection(updater.check());

    expect(error.code).toBe('AMBIGUOUS_ASSET');
    expect(error.message).toContain('python-backend-2.1.0-win-x64.zip');
    expect(error.message).toContain('python-backend-2.1.0-windows-amd64.tar.gz');
  });
});

describe('rate limits', () => {
  const body = { message: 'API rate limit exceeded for 203.0.113.7. …', documentation_url: '…#rate-limiting' };

  function limitedFeed(reset: string): Promise<ReleaseServer> {
    return startServer().then((server) => {
      server.route(FEED_PATH, (_request, response) =>
        sendJson(response, 403, body, { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }),
      );
      return server;
    });
  }

  it('surfaces resetAt in the error state', async () => {
    const updater = makeUpdater(await limitedFeed('1377013266'), { current: '2.0.0' });

    const error = await rejection(updater.check());

    expect(error.code).toBe('RATE_LIMITED');
    const state = errorState(updater);
    expect(state.error.code).toBe('RATE_LIMITED');
    expect(state.error.details?.resetAt).toBe('2013-08-20T15:41:06.000Z');
    expect(state.during).toBe('checking');
  });

  it('sends nothing before the reset time', async () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    const server = await limitedFeed(String(reset));
    const updater = makeUpdater(server, { current: '2.0.0' });

    const first = await rejection(updater.check());
    const second = await rejection(updater.check());

    expect(first.code).toBe('RATE_LIMITED');
    expect(second.code).toBe('RATE_LIMITED');
    expect(second.details?.resetAt).toBe(new Date(reset * 1000).toISOString());
    expect(second.details?.sent).toBe(false);
    expect(errorState(updater).error.details?.resetAt).toBe(new Date(reset * 1000).toISOString());
    expect(server.requestsTo(FEED_PATH)).toHaveLength(1);
  });

  it('reports a 200 object as format error', async () => {
    const server = await startServer();
    server.route(FEED_PATH, (_request, response) => sendJson(response, 200, body));
    const updater = makeUpdater(server, { current: '2.0.0' });

    const error = await rejection(updater.check());

    expect(error.code).toBe('FEED_FORMAT');
    expect(errorState(updater).error.code).toBe('FEED_FORMAT');
  });
});

describe('authorization across redirects', () => {
  const apiAssetPath = '/repos/o/r/releases/assets/8110464';

  async function redirectingFeed(storageStatus: (hasAuth: boolean) => number): Promise<{ api: ReleaseServer; storage: ReleaseServer }> {
    const storage = await startServer('127.0.0.2');
    storage.route('/x', (request, response) => {
      const status = storageStatus(request.headers.authorization !== undefined);
      if (status !== 200) {
        response.writeHead(status, { 'content-type': 'application/xml' }).end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
        return;
      }
      response.writeHead(200, { 'content-length': '3' }).end('abc');
    });
    const api = await feedServer((origin) => [githubRelease('v2.1.0', [githubAsset(ASSET, `${origin}${apiAssetPath}`, 3, `sha256:${ABC}`)])]);
    api.route(apiAssetPath, (_request, response) => {
      response.writeHead(302, { location: `${storage.origin}/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00` }).end();
    });
    return { api, storage };
  }

  it('drops the token on the storage host', async () => {
    const { api, storage } = await redirectingFeed((hasAuth) => (hasAuth ? 400 : 200));
    const updater = makeUpdater(api, { current: '2.0.0', config: { token: 'T' } });

    const result = await updater.download();

    expect(result.sha256).toBe(ABC);
    expect(api.requestsTo(apiAssetPath)[0]?.headers.authorization).toBe('Bearer T');
    expect(api.requestsTo(apiAssetPath)[0]?.headers.accept).toBe('application/octet-stream');
    expect(storage.requestsTo('/x')).toHaveLength(1);
    expect(storage.requestsTo('/x')[0]?.headers.authorization).toBeUndefined();
    expect(updater.getState().type).toBe('downloaded');
  });

  it('keeps nothing after a 400', async () => {
    const { api, storage } = await redirectingFeed(() => 400);
    const updater = makeUpdater(api, { current: '2.0.0', config: { token: 'T' } });

    const error = await rejection(updater.download());

    expect(error.code).toBe('DOWNLOAD_HTTP');
    expect(error.details?.status).toBe(400);
    expect(storage.requestsTo('/x')).toHaveLength(1);
    expect(await filesUnder(updater.store.downloadsDir)).toEqual([]);
    expect(errorState(updater).error.code).toBe('DOWNLOAD_HTTP');
  });
});

describe('missing length and truncated body', () => {
  it('derives percent from the feed size', async () => {
    const server = await feedServer((origin) => abcRelease(origin));
    server.route(ASSET_PATH, (_request, response) => {
      response.writeHead(200);
      const chunks = ['a', 'b', 'c'];
      const send = (): void => {
        const chunk = chunks.shift();
        if (chunk === undefined) return void response.end();
        response.write(chunk);
        setTimeout(send, 120);
      };
      send();
    });
    const updater = makeUpdater(server, { current: '2.0.0' });
    const states = recordStates(updater);

    const result = await updater.download();

    expect(result.sha256).toBe(ABC);
    const percents = states.filter((state) => state.type === 'downloading').map((state) => state.percent);
    expect(percents.length).toBeGreaterThan(1);
    let previous = 0;
    for (const percent of percents) {
      expect(percent).not.toBeNull();
      expect(Number.isFinite(percent)).toBe(true);
      expect(percent!).toBeGreaterThanOrEqual(previous);
      expect(percent!).toBeLessThanOrEqual(100);
      previous = percent!;
    }
    expect(percents.at(-1)).toBe(100);
  });

  it('fails a truncated body and installs nothing', async () => {
    const server = await feedServer((origin) => abcRelease(origin, { size: 10, digest: null }));
    server.route(ASSET_PATH, (_request, response) => {
      response.writeHead(200, { 'content-length': '10' });
      response.write('abc', () => setTimeout(() => response.socket?.destroy(), 20));
    });
    const updater = makeUpdater(server, { current: '2.0.0', options: { downloadRetries: 1 } });

    const error = await rejection(updater.install());

    expect(error.code).toBe('INCOMPLETE_DOWNLOAD');
    expect(error.details).toMatchObject({ received: 3, expected: 10 });
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(2);
    expect(await filesUnder(updater.store.downloadsDir)).toEqual([]);
    expect(await updater.store.installedVersions()).toEqual([]);
    expect(errorState(updater).error.retryable).toBe(true);
  });
});

describe('stalled connection', () => {
  // The idle timeout is 1 s instead of 10 s so that the test stays fast.
  it('fails a silent connection as stalled', async () => {
    const server = await feedServer((origin) => abcRelease(origin, { size: 200, digest: null }));
    server.route(ASSET_PATH, (_request, response) => {
      response.writeHead(200, { 'content-length': '200' });
      response.write(Buffer.alloc(100, 1));
    });
    const updater = makeUpdater(server, { current: '2.0.0', config: { idleTimeoutMs: 1000 }, options: { downloadRetries: 1 } });
    const startedAt = performance.now();

    const error = await rejection(updater.download());

    expect(error.code).toBe('DOWNLOAD_STALLED');
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(1900);
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(2);
    expect(await filesUnder(updater.store.downloadsDir)).toEqual([]);
    const state = errorState(updater);
    expect(state.error.retryable).toBe(true);
    expect(state.during).toBe('downloading');
  });

  // One byte every 200 ms against a 1 s idle timeout: the ratio of one byte every 2 s against 10 s.
  it('completes a slow moving transfer', async () => {
    const body = Buffer.alloc(12, 's');
    const server = await feedServer((origin) => abcRelease(origin, { size: body.length, digest: `sha256:${sha256Hex(body)}` }));
    server.route(ASSET_PATH, (_request, response) => {
      response.writeHead(200, { 'content-length': String(body.length) });
      let sent = 0;
      const timer = setInterval(() => {
        response.write(body.subarray(sent, sent + 1));
        sent += 1;
        if (sent === body.length) {
          clearInterval(timer);
          response.end();
        }
      }, 200);
      response.on('close', () => clearInterval(timer));
    });
    const updater = makeUpdater(server, { current: '2.0.0', config: { idleTimeoutMs: 1000 } });

    const result = await updater.download();

    expect(result.size).toBe(body.length);
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(1);
  });
});

describe('hostile archive entries', () => {
  async function hostileArchives(): Promise<{ label: string; file: string; format: 'zip' | 'tar.gz'; entry: string }[]> {
    const base = await sampleEntries('2.1.0');
    const archives: { label: string; file: string; format: 'zip' | 'tar.gz'; entry: string }[] = [];
    for (const name of ['../stage2/evil.txt', 'a/../../x', '/etc/x', 'C:/x', '\\\\srv\\share\\x']) {
      const target = path.join(tmp, 'hostile', `${archives.length}.zip`);
      archives.push({ label: name, file: await makeZip(target, [...base, file(name, 'evil')]), format: 'zip', entry: name });
    }
    const symlinkTar = await makeTarGz(path.join(tmp, 'hostile', 'symlink.tar.gz'), [...base, symlink('lib', '../../..'), file('lib/evil', 'evil')]);
    archives.push({ label: 'symlink then file', file: symlinkTar, format: 'tar.gz', entry: 'lib' });
    const hardlinkTar = await makeTarGz(path.join(tmp, 'hostile', 'hardlink.tar.gz'), [...base, hardlink('a/b/c/d/x', '../../../../etc/passwd')]);
    archives.push({ label: 'hardlink', file: hardlinkTar, format: 'tar.gz', entry: 'a/b/c/d/x' });
    return archives;
  }

  it('stops before the live version', async () => {
    const world = await newWorld();
    const updater = await runningOld(world);
    const pid = updater.supervisor.status().pid;
    const backendDir = updater.store.backendDir;

    for (const archive of await hostileArchives()) {
      const error = await rejection(updater.installFile({ file: archive.file, version: '2.1.0', format: archive.format }));

      expect(error.code, archive.label).toBe('UNSAFE_ARCHIVE_ENTRY');
      expect(error.details?.entry, archive.label).toBe(archive.entry);
      expect(await readdir(updater.store.stagingDir), archive.label).toEqual([]);
      expect(await readdir(updater.store.versionsDir), archive.label).toEqual(['2.0.0']);
      expect(existsSync(path.join(backendDir, 'stage2')), archive.label).toBe(false);
      expect(await updater.store.readState(), archive.label).toEqual({ current: '2.0.0', previous: null, pending: null });
    }
    expect(await filesUnder(path.join(updater.store.versionsDir, '2.0.0'))).toEqual(['VERSION', 'main.py']);
    expect(updater.supervisor.status().pid).toBe(pid);
    expect((await backendHealth(world.config.backend.port)).body.version).toBe('2.0.0');
  });

  it('installs a legal dotted name', async () => {
    const world = await newWorld();
    const updater = await runningOld(world);
    const archive = await makeZip(path.join(tmp, 'dots.zip'), [...(await sampleEntries('2.1.0')), file('..././escape.txt', 'inside')]);

    await updater.installFile({ file: archive, version: '2.1.0', format: 'zip' });

    expect(await readFile(path.join(updater.store.versionDir('2.1.0'), '...', 'escape.txt'), 'utf8')).toBe('inside');
    expect((await backendHealth(world.config.backend.port)).body.version).toBe('2.1.0');
  });
});

describe('backslash separators', () => {
  it('installs a PowerShell-made zip', async () => {
    const world = await newWorld();
    const updater = await runningOld(world);
    const archive = await makeZip(path.join(tmp, 'ps5.zip'), [dir('python-backend\\'), ...(await sampleEntries('2.1.0', 'python-backend\\')), file('python-backend\\lib\\util.py', 'X = 1\n')]);

    await updater.installFile({ file: archive, version: '2.1.0', format: 'zip' });

    expect(await filesUnder(updater.store.versionDir('2.1.0'))).toEqual(['VERSION', 'lib/util.py', 'main.py']);
    expect((await backendHealth(world.config.backend.port)).body.version).toBe('2.1.0');
  });

  it('rejects a backslash parent escape', async () => {
    const world = await newWorld();
    const updater = await runningOld(world);
    const archive = await makeZip(path.join(tmp, 'ps5.zip'), [dir('python-backend\\'), ...(await sampleEntries('2.1.0', 'python-backend\\')), file('..\\..\\evil.txt', 'evil')]);

    const error = await rejection(updater.installFile({ file: archive, version: '2.1.0', format: 'zip' }));

    expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect(error.details?.entry).toBe('..\\..\\evil.txt');
    expect(existsSync(path.join(updater.store.backendDir, '..', 'evil.txt'))).toBe(false);
    expect((await backendHealth(world.config.backend.port)).body.version).toBe('2.0.0');
  });
});

describe.skipIf(isWindows)('executable bit', () => {
  const server = file('bin/server', '#!/bin/sh\nexec python3 main.py\n', 0o755);

  async function installWithScript(archive: string, format: 'zip' | 'tar.gz'): Promise<BackendUpdater> {
    const world = await newWorld({ config: { backend: { command: ['./bin/server'], startTimeoutMs: 8_000, stopTimeoutMs: 3_000 } } });
    const updater = new BackendUpdater({ config: world.config, logger: silentLogger });
    cleanups.push(() => updater.stopBackend());
    await updater.init();
    await updater.installFile({ file: archive, version: '2.1.0', format });
    return updater;
  }

  it.each([
    ['Unix zip', 'zip' as const],
    ['tar.gz', 'tar.gz' as const],
  ])('starts the backend from %s', async (_label, format) => {
    const entries = [...(await sampleEntries('2.1.0')), server];
    const archive = format === 'zip' ? await makeZip(path.join(tmp, 'unix.zip'), entries, { versionMadeBy: 0x031e }) : await makeTarGz(path.join(tmp, 'unix.tar.gz'), entries);

    const updater = await installWithScript(archive, format);

    expect(statSync(path.join(updater.store.versionDir('2.1.0'), 'bin', 'server')).mode & 0o111).not.toBe(0);
    expect(await updater.store.readState()).toMatchObject({ current: '2.1.0', pending: null });
  });

  it('ignores modes of a DOS-made zip', async () => {
    const archive = await makeZip(path.join(tmp, 'dos.zip'), [...(await sampleEntries('2.1.0')), server], { versionMadeBy: 0x001e });

    const error = await rejection(installWithScript(archive, 'zip'));

    expect(error.code).toBe('BACKEND_START_FAILED');
    expect(error.message).toContain('./bin/server');
  });
});

describe('first install that fails to start', () => {
  it('reverts to the bundled fallback', async () => {
    const world = await newWorld({ nextOptions: { fault: 'crash-on-start' } });
    const updater = new BackendUpdater({ config: world.config, logger: silentLogger });
    cleanups.push(() => updater.stopBackend());
    await updater.init();

    const error = await rejection(updater.installFile({ file: world.next.files[0]!, version: '2.1.0', format: 'zip' }));

    expect(error.code).toBe('BACKEND_START_FAILED');
    expect(await updater.store.readState()).toEqual({ current: null, previous: null, pending: null });
    expect(await updater.currentVersion()).toBeNull();
  });
});

describe('rename across file systems', () => {
  function exdev(from: string, to: string): Error {
    return Object.assign(new Error(`EXDEV: cross-device link not permitted, rename '${from}' -> '${to}'`), { code: 'EXDEV', syscall: 'rename' });
  }

  function storeFor(world: TestWorld, seam: (from: string, to: string) => Promise<void>, stagingDir?: string): InstallStore {
    return new InstallStore({ home: world.config.home, entryPoint: world.config.backend.entryPoint, rename: seam, stagingDir });
  }

  it('installs through copy on EXDEV', async () => {
    const world = await newWorld();
    const renamed: string[] = [];
    const store = storeFor(world, async (from, to) => {
      renamed.push(path.basename(from));
      if (path.basename(from).startsWith('2.1.0-')) throw exdev(from, to);
      await rename(from, to);
    });
    const updater = await runningOld(world, { store });

    const result = await updater.install();

    expect(result).toMatchObject({ version: '2.1.0', previousVersion: '2.0.0' });
    expect(renamed.some((name) => name.startsWith('.partial-2.1.0-'))).toBe(true);
    expect(await readdir(store.versionsDir)).toEqual(['2.0.0', '2.1.0']);
    expect(await readdir(store.stagingDir)).toEqual([]);
    expect((await backendHealth(world.config.backend.port)).body.version).toBe('2.1.0');
  });

  it('keeps 2.0.0 when the copy fails', async () => {
    const world = await newWorld();
    const store = storeFor(world, async (from, to) => {
      const name = path.basename(from);
      if (name.startsWith('2.1.0-')) throw exdev(from, to);
      if (name.startsWith('.partial-2.1.0-')) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO', syscall: 'rename' });
      await rename(from, to);
    });
    const updater = await runningOld(world, { store });

    const error = await rejection(updater.install());

    expect(error.code).toBe('INSTALL_FAILED');
    expect(await readdir(store.versionsDir)).toEqual(['2.0.0']);
    expect(await readdir(store.stagingDir)).toEqual([]);
    expect(await store.readState()).toEqual({ current: '2.0.0', previous: null, pending: null });
    expect((await backendHealth(world.config.backend.port)).body.version).toBe('2.0.0');
    expect(errorState(updater).during).toBe('installing');
  });

  const shm = '/dev/shm';
  const separateDevice = existsSync(shm) && statSync(shm).dev !== statSync(os.tmpdir()).dev;

  it.skipIf(!separateDevice)('installs with staging on another device', async () => {
    const world = await newWorld();
    const stagingDir = await mkdtemp(path.join(shm, 'failure-cases-staging-'));
    cleanups.push(() => rm(stagingDir, { recursive: true, force: true }));
    const store = storeFor(world, rename, stagingDir);
    const updater = await runningOld(world, { store });

    await updater.install();

    expect(await readdir(store.versionsDir)).toEqual(['2.0.0', '2.1.0']);
    expect(await readdir(stagingDir)).toEqual([]);
    expect((await backendHealth(world.config.backend.port)).body.version).toBe('2.1.0');
  });
});

describe('checksum formats', () => {
  const accepted: [string, Record<string, unknown>, [string, string] | null][] = [
    ['bare uppercase sidecar', { digest: null }, [`${ASSET}.sha256`, `${ABC.toUpperCase()}\n`]],
    ['two-space SUMS line', { digest: null }, ['SHA256SUMS', `${ABC}  ${ASSET}\n`]],
    ['binary flag SUMS line', { digest: null }, ['SHA256SUMS', `${ABC} *${ASSET}\n`]],
    ['dot slash SUMS line', { digest: null }, ['SHA256SUMS', `${ABC}  ./${ASSET}\n`]],
    ['uppercase API digest', { digest: `sha256:${ABC.toUpperCase()}` }, null],
  ];

  const rejected: [string, Record<string, unknown>, [string, string] | null][] = [
    ['too short digest', { digest: 'sha256:ba78' }, null],
    ['sha512 digest', { digest: `sha512:${'c'.repeat(128)}` }, null],
    ['SUMS without the asset', { digest: null }, ['SHA256SUMS', `${ABC}  other.zip\n`]],
    ['two different SUMS lines', { digest: null }, ['SHA256SUMS', `${ABC}  ${ASSET}\n${ABD}  ./${ASSET}\n`]],
  ];

  async function checksumFeed(overrides: Record<string, unknown>, checksumFile: [string, string] | null): Promise<ReleaseServer> {
    const server = await feedServer((origin) => {
      const extra = checksumFile === null ? [] : [githubAsset(checksumFile[0], `${origin}/download/${checksumFile[0]}`, Buffer.byteLength(checksumFile[1]))];
      return abcRelease(origin, { ...overrides, extra });
    });
    server.route(ASSET_PATH, (request, response) => sendBytes(request, response, Buffer.from('abc')));
    if (checksumFile !== null) server.route(`/download/${checksumFile[0]}`, (request, response) => sendBytes(request, response, Buffer.from(checksumFile[1])));
    return server;
  }

  it.each(accepted)('verifies with %s', async (_label, overrides, checksumFile) => {
    const updater = makeUpdater(await checksumFeed(overrides, checksumFile), { current: '2.0.0' });

    const result = await updater.download();

    expect(result.sha256).toBe(ABC);
  });

  it.each(rejected)('rejects %s before downloading', async (_label, overrides, checksumFile) => {
    const server = await checksumFeed(overrides, checksumFile);
    const updater = makeUpdater(server, { current: '2.0.0' });

    const error = await rejection(updater.download());

    expect(error.code).toBe('CHECKSUM_FORMAT');
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(0);
    expect(errorState(updater).error.code).toBe('CHECKSUM_FORMAT');
  });

  it('applies the policy without any digest', async () => {
    const server = await checksumFeed({ digest: null }, null);
    const updater = makeUpdater(server, { current: '2.0.0', config: { checksumPolicy: 'required' } });

    const error = await rejection(updater.download());

    expect(error.code).toBe('CHECKSUM_MISSING');
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(0);
  });
});

describe('wrong file and stale cache', () => {
  it('compares the size before the hash', async () => {
    const server = await feedServer((origin) => abcRelease(origin, { size: 133058412 }));
    server.route(ASSET_PATH, (request, response) => sendBytes(request, response, Buffer.from('abc')));
    const updater = makeUpdater(server, { current: '2.0.0' });

    const error = await rejection(updater.download());

    expect(error.code).toBe('SIZE_MISMATCH');
    expect(error.details).toMatchObject({ actual: 3, expected: 133058412 });
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(1);
    expect(await filesUnder(updater.store.downloadsDir)).toEqual([]);
  });

  it('deletes bytes that fail the sidecar', async () => {
    const sidecar = `${ABD}  ${ASSET}\n`;
    const server = await feedServer((origin) => abcRelease(origin, { digest: null, extra: [githubAsset(`${ASSET}.sha256`, `${origin}/download/${ASSET}.sha256`, sidecar.length)] }));
    server.route(ASSET_PATH, (request, response) => sendBytes(request, response, Buffer.from('abc')));
    server.route(`/download/${ASSET}.sha256`, (request, response) => sendBytes(request, response, Buffer.from(sidecar)));
    const updater = makeUpdater(server, { current: '2.0.0' });

    const error = await rejection(updater.download());

    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.details).toEqual({ file: ASSET, expected: ABD, actual: ABC });
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(1);
    expect(await filesUnder(updater.store.downloadsDir)).toEqual([]);
  });

  it('replaces a corrupt cached download', async () => {
    const server = await feedServer((origin) => abcRelease(origin));
    server.route(ASSET_PATH, (request, response) => sendBytes(request, response, Buffer.from('abc')));
    const updater = makeUpdater(server, { current: '2.0.0' });
    const cached = path.join(updater.store.downloadsDir, `2.1.0-${ABC.slice(0, 16)}`, ASSET);
    await mkdir(path.dirname(cached), { recursive: true });
    await writeFile(cached, 'abd');

    const result = await updater.download();

    expect(result.sha256).toBe(ABC);
    expect(await readFile(cached, 'utf8')).toBe('abc');
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(1);
  });

  it('reuses a verified cached download', async () => {
    const server = await feedServer((origin) => abcRelease(origin));
    server.route(ASSET_PATH, (request, response) => sendBytes(request, response, Buffer.from('abc')));
    await makeUpdater(server, { current: '2.0.0' }).download();

    const result = await makeUpdater(server, { current: '2.0.0' }).download();

    expect(result.sha256).toBe(ABC);
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(1);
  });
});

describe('download retries', () => {
  it('resumes after a dropped connection', async () => {
    const body = Buffer.from(Array.from({ length: 256 * 1024 }, (_, index) => (index * 7) % 251));
    const server = await feedServer((origin) => abcRelease(origin, { size: body.length, digest: `sha256:${sha256Hex(body)}` }));
    server.route(ASSET_PATH, (request, response, index) => {
      if (index > 0) return sendBytes(request, response, body);
      response.writeHead(200, { 'content-length': String(body.length), 'accept-ranges': 'bytes', etag: '"v1"' });
      // The connection drops a while after the last bytes, once the client has written them to its `.part` file.
      response.write(body.subarray(0, 100 * 1024), () => setTimeout(() => response.socket?.destroy(), 200));
    });
    const updater = makeUpdater(server, { current: '2.0.0' });
    const states = recordStates(updater);

    const result = await updater.download();

    expect(result.sha256).toBe(sha256Hex(body));
    const requests = server.requestsTo(ASSET_PATH);
    expect(requests).toHaveLength(2);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(String(requests[1]?.headers.range))?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(typesOf(states)).toEqual(['checking', 'available', 'downloading', 'downloaded']);
    const downloading = states.filter((state): state is Extract<UpdateState, { type: 'downloading' }> => state.type === 'downloading');
    expect(new Set(downloading.map((state) => state.downloadId)).size).toBe(1);
    for (let index = 1; index < downloading.length; index += 1) {
      expect(downloading[index]!.percent!).toBeGreaterThanOrEqual(downloading[index - 1]!.percent!);
    }
  });

  it('gives up on 5xx after bounded retries', async () => {
    const server = await feedServer((origin) => abcRelease(origin));
    server.route(ASSET_PATH, (_request, response) => sendJson(response, 503, { message: 'busy' }));
    const updater = makeUpdater(server, { current: '2.0.0', options: { downloadRetries: 2 } });

    const error = await rejection(updater.download());

    expect(error.code).toBe('DOWNLOAD_HTTP');
    expect(error.retryable).toBe(true);
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(3);
    expect(errorState(updater).error.code).toBe('DOWNLOAD_HTTP');
  });
});

describe('resource limits', () => {
  it.each([
    ['maxEntries', { maxEntries: 1 }],
    ['maxTotalBytes', { maxTotalBytes: 1000 }],
    ['maxCompressionRatio', { maxCompressionRatio: 1.2 }],
  ])('applies configured %s', async (limit, extractLimits) => {
    const world = await newWorld();
    const updater = await runningOld(world);
    const limited = new BackendUpdater({ config: parseConfig({ ...world.config, extractLimits }), logger: silentLogger });

    const error = await rejection(limited.installFile({ file: world.next.files[0]!, version: '2.1.0', format: 'zip' }));

    expect(error.code).toBe('ARCHIVE_TOO_LARGE');
    expect(error.details?.limit).toBe(limit);
    expect(await readdir(updater.store.stagingDir)).toEqual([]);
    expect(await readdir(updater.store.versionsDir)).toEqual(['2.0.0']);
    expect(await updater.store.readState()).toEqual({ current: '2.0.0', previous: null, pending: null });
  });

  it('rejects a zip bomb by default', async () => {
    const world = await newWorld();
    const updater = new BackendUpdater({ config: world.config, logger: silentLogger });
    await updater.init();
    const bomb = await makeZip(path.join(tmp, 'bomb.zip'), [...(await sampleEntries('2.1.0')), file('zeros.bin', zeros(50 * 1024 * 1024))]);

    const error = await rejection(updater.installFile({ file: bomb, version: '2.1.0', format: 'zip' }));

    expect(error.code).toBe('ARCHIVE_TOO_LARGE');
    expect(error.details).toMatchObject({ limit: 'maxCompressionRatio', value: 100 });
    expect(await readdir(updater.store.stagingDir)).toEqual([]);
    expect(await updater.store.installedVersions()).toEqual([]);
  });

  it('stops a download past the asset size', async () => {
    const server = await feedServer((origin) => abcRelease(origin));
    server.route(ASSET_PATH, (_request, response) => {
      response.writeHead(200);
      response.end('abcdef');
    });
    const updater = makeUpdater(server, { current: '2.0.0' });

    const error = await rejection(updater.download());

    expect(error.code).toBe('DOWNLOAD_TOO_LARGE');
    expect(error.details?.maxBytes).toBe(3);
    expect(server.requestsTo(ASSET_PATH)).toHaveLength(1);
    expect(await filesUnder(updater.store.downloadsDir)).toEqual([]);
  });

  it('removes staging on a full disk', async () => {
    const world = await newWorld();
    const updater = await runningOld(world);
    // Entries above 1 MiB are streamed through createWriteStream, where the seam fails them; smaller ones go to the writer thread.
    const archive = await makeZip(path.join(tmp, 'full.zip'), [...(await sampleEntries('2.1.0')), file('data/enospc-trigger.bin', randomBytes(3 * 1024 * 1024))]);

    const error = await rejection(updater.installFile({ file: archive, version: '2.1.0', format: 'zip' }));

    expect(error.code).toBe('DISK_FULL');
    expect(await readdir(updater.store.stagingDir)).toEqual([]);
    expect(await readdir(updater.store.versionsDir)).toEqual(['2.0.0']);
    expect(await updater.store.readState()).toEqual({ current: '2.0.0', previous: null, pending: null });
    expect((await backendHealth(world.config.backend.port)).body.version).toBe('2.0.0');
  });
});
