/**
 * Requests that arrive at the same time (menu, toast, HTTP API), a second
 * process on the same data folder, and the HTTP Update API's defences against
 * other local web pages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../main/config';
import { startHttpApi, type HttpApiServer } from '../main/http-api';
import { silentLogger, type Logger } from '../main/logger';
import { findFreePort } from '../main/updater/apply';
import { UpdateError } from '../main/updater/errors';
import type { UpdateState } from '../main/updater/state';
import { BackendUpdater } from '../main/updater/updater';
import { githubAsset, githubRelease, sendJson, sha256Hex, startReleaseServer, type ReleaseServer } from './helpers/release-server';
import { createWorld, type TestWorld } from './helpers/world';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/backend-updater.js');
const FEED_PATH = '/repos/o/r/releases';
const ASSET = 'python-backend-2.1.0.zip';
const ASSET_PATH = `/download/${ASSET}`;
const BODY = Buffer.from(Array.from({ length: 64 * 1024 }, (_, index) => index % 253));

let tmp: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concurrency-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(tmp, { recursive: true, force: true });
});

/** A feed whose archive download sends one byte, then waits until `release()` is called. */
interface GatedFeed {
  server: ReleaseServer;
  /** Resolves when the first archive request has received its first byte. */
  started: Promise<void>;
  release(): void;
}

async function gatedFeed(): Promise<GatedFeed> {
  const server = await startReleaseServer();
  cleanups.push(() => server.close());
  server.route(FEED_PATH, (_request, response) =>
    sendJson(response, 200, [githubRelease('v2.1.0', [githubAsset(ASSET, `${server.origin}${ASSET_PATH}`, BODY.length, `sha256:${sha256Hex(BODY)}`)])]),
  );
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  let released = false;
  const waiting: (() => void)[] = [];
  server.route(ASSET_PATH, (_request, response) => {
    response.writeHead(200, { 'content-length': String(BODY.length) });
    response.write(BODY.subarray(0, 1), () => markStarted());
    const finish = (): void => void response.end(BODY.subarray(1));
    if (released) finish();
    else waiting.push(finish);
  });
  return {
    server,
    started,
    release: () => {
      released = true;
      for (const finish of waiting.splice(0)) finish();
    },
  };
}

function makeUpdater(feedUrl: string): BackendUpdater {
  const config = parseConfig({ home: path.join(tmp, 'home'), feedUrl, platform: 'linux', arch: 'x64', bundled: { dir: path.join(tmp, 'bundled'), version: '2.0.0' } });
  const updater = new BackendUpdater({ config, logger: silentLogger, retryBaseDelayMs: 1 });
  cleanups.push(() => updater.stopBackend());
  return updater;
}

async function startApi(updater: BackendUpdater, logger: Logger = silentLogger): Promise<HttpApiServer> {
  const api = await startHttpApi({ updater, home: path.join(tmp, 'home'), logger });
  cleanups.push(() => api.close());
  return api;
}

/** Returns a logger that records debug lines, and a function that waits for a line containing `text`. */
function debugRecorder(): { logger: Logger; waitFor(text: string): Promise<void> } {
  const lines: string[] = [];
  const logger: Logger = { ...silentLogger, debug: (line) => void lines.push(line) };
  const waitFor = async (text: string): Promise<void> => {
    const deadline = Date.now() + 5_000;
    while (!lines.some((line) => line.includes(text))) {
      if (Date.now() > deadline) throw new Error(`no log line contains "${text}"`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  return { logger, waitFor };
}

function recordStates(updater: BackendUpdater): UpdateState[] {
  const states: UpdateState[] = [];
  updater.onState((state) => states.push(state));
  return states;
}

function downloadIds(states: UpdateState[]): Set<string> {
  return new Set(states.flatMap((state) => (state.type === 'downloading' ? [state.downloadId] : [])));
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

/** Reads server-sent events until `done` returns true for the text so far. */
async function readEvents(url: string, signal: AbortSignal, done: (text: string) => boolean): Promise<string> {
  const response = await fetch(url, { signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value);
  }
  return text;
}

describe('shared operations', () => {
  it('joins two downloads into one', async () => {
    const feed = await gatedFeed();
    const updater = makeUpdater(`${feed.server.origin}${FEED_PATH}`);
    const states = recordStates(updater);

    const first = updater.download();
    const second = updater.download();
    await feed.started;
    feed.release();
    const [a, b] = await Promise.all([first, second]);

    expect(a).toEqual(b);
    expect(a.sha256).toBe(sha256Hex(BODY));
    expect(feed.server.requestsTo(ASSET_PATH)).toHaveLength(1);
    expect(feed.server.requestsTo(FEED_PATH)).toHaveLength(1);
    expect(downloadIds(states).size).toBe(1);
  });

  it('joins a download from the HTTP API', async () => {
    const feed = await gatedFeed();
    const updater = makeUpdater(`${feed.server.origin}${FEED_PATH}`);
    const recorder = debugRecorder();
    const api = await startApi(updater, recorder.logger);
    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const events = readEvents(`${api.url}/api/updates/events`, controller.signal, (text) => text.includes('"type":"downloaded"'));

    const direct = updater.download();
    await feed.started;
    const viaApi = fetch(`${api.url}/api/updates/download`, { method: 'POST', headers: { authorization: `Bearer ${api.token}` } });
    await recorder.waitFor('POST /api/updates/download');
    feed.release();
    const [result, response] = await Promise.all([direct, viaApi]);
    const streamed = await events;

    expect(response.status).toBe(200);
    expect((await response.json()).sha256).toBe(result.sha256);
    expect(feed.server.requestsTo(ASSET_PATH)).toHaveLength(1);
    const ids = new Set([...streamed.matchAll(/"downloadId":"([^"]+)"/g)].map((match) => match[1]));
    expect(ids.size).toBe(1);
  });

  it('joins a check from the HTTP API', async () => {
    const feed = await gatedFeed();
    const listings: (() => void)[] = [];
    feed.server.route(FEED_PATH, (_request, response) => {
      const release = [githubRelease('v2.1.0', [githubAsset(ASSET, `${feed.server.origin}${ASSET_PATH}`, BODY.length, null)])];
      listings.push(() => sendJson(response, 200, release));
    });
    const updater = makeUpdater(`${feed.server.origin}${FEED_PATH}`);
    const recorder = debugRecorder();
    const api = await startApi(updater, recorder.logger);

    const checking = updater.check();
    const viaApi = fetch(`${api.url}/api/updates/check`);
    await recorder.waitFor('GET /api/updates/check');
    while (listings.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const send of listings.splice(0)) send();
    const [direct, response] = await Promise.all([checking, viaApi]);

    expect(direct.latestVersion).toBe('2.1.0');
    expect((await response.json()).latest_version).toBe('2.1.0');
    expect(feed.server.requestsTo(FEED_PATH)).toHaveLength(1);
  });
});

describe('rejected operations', () => {
  it('rejects a check during a download', async () => {
    const feed = await gatedFeed();
    const updater = makeUpdater(`${feed.server.origin}${FEED_PATH}`);
    const download = updater.download();
    await feed.started;
    const before = updater.getState();

    const error = await rejection(updater.check());
    const during = updater.getState();
    feed.release();
    await download;

    expect(error.code).toBe('BUSY');
    expect(error.retryable).toBe(true);
    expect(before.type).toBe('downloading');
    expect(during).toBe(before);
    expect(feed.server.requestsTo(FEED_PATH)).toHaveLength(1);
    expect(updater.getState().type).toBe('downloaded');
  });

  it('answers 409 to an install during a download', async () => {
    const feed = await gatedFeed();
    const updater = makeUpdater(`${feed.server.origin}${FEED_PATH}`);
    const api = await startApi(updater);
    const download = updater.download();
    await feed.started;

    const response = await fetch(`${api.url}/api/updates/install`, { method: 'POST', headers: { authorization: `Bearer ${api.token}` } });
    feed.release();
    await download;

    expect(response.status).toBe(409);
    expect((await response.json()).error.code).toBe('BUSY');
    expect(updater.getState().type).toBe('downloaded');
  });

  it('rejects a second install', async () => {
    const world: TestWorld = await createWorld();
    cleanups.push(() => world.cleanup());
    const updater = new BackendUpdater({ config: world.config, logger: silentLogger, keepBackendRunning: true });
    cleanups.push(() => updater.stopBackend());
    await updater.init();
    await updater.installFile({ file: world.old.files[0]!, version: '2.0.0', format: 'zip' });

    const first = updater.install();
    const second = await rejection(updater.install());
    const offline = await rejection(updater.installFile({ file: world.next.files[0]!, version: '2.1.0', format: 'zip' }));
    const result = await first;

    expect(second.code).toBe('BUSY');
    expect(offline.code).toBe('BUSY');
    expect(result.version).toBe('2.1.0');
    expect(await updater.store.readState()).toMatchObject({ current: '2.1.0', previous: '2.0.0', pending: null });
  });
});

describe('data folder lock', () => {
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  function runCli(args: string[]): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, BACKEND_UPDATER_LOG_LEVEL: 'warn' } });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code: code ?? -1, stderr }));
    });
  }

  function startServe(args: string[]): Promise<ChildProcess> {
    const child = spawn(process.execPath, [BIN, 'serve', '--json', ...args], { env: { ...process.env, BACKEND_UPDATER_LOG_LEVEL: 'warn' } });
    children.push(child);
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(child);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
  }

  it('rejects a second process with LOCKED', async () => {
    const home = path.join(tmp, 'home');
    const feed = 'http://127.0.0.1:9/repos/o/r/releases';
    const first = await startServe(['--home', home, '--feed', feed, '--backend-port', String(await findFreePort())]);
    const stateBefore = await readFile(path.join(home, 'backend', 'state.json'), 'utf8').catch(() => null);

    const second = await runCli(['serve', '--home', home, '--feed', feed, '--backend-port', String(await findFreePort())]);
    const install = await runCli(['install', '--home', home, '--file', path.join(tmp, 'missing.zip'), '--version', '2.1.0']);

    expect(second.code).toBe(1);
    expect(second.stderr).toContain('Error [LOCKED]');
    expect(second.stderr).toContain(`process ${first.pid}`);
    expect(install.code).toBe(1);
    expect(install.stderr).toContain('Error [LOCKED]');
    expect(await readFile(path.join(home, 'backend', 'state.json'), 'utf8').catch(() => null)).toBe(stateBefore);
  });
});

describe('HTTP Update API safety', () => {
  /** Sends a raw request so that Host, Origin and other headers can be set or left out. */
  function rawRequest(port: number, options: { method?: string; path: string; headers?: Record<string, string>; body?: string; host?: string; setHost?: boolean }): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        { host: options.host ?? '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers, setHost: options.setHost ?? true },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('error', reject);
      request.end(options.body);
    });
  }

  async function apiWithFeed(): Promise<{ api: HttpApiServer; feed: GatedFeed; updater: BackendUpdater }> {
    const feed = await gatedFeed();
    const updater = makeUpdater(`${feed.server.origin}${FEED_PATH}`);
    return { api: await startApi(updater), feed, updater };
  }

  it('listens on 127.0.0.1 only', async () => {
    const { api } = await apiWithFeed();
    const connect = (host: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = net.connect({ host, port: api.port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });

    expect(api.url).toBe(`http://127.0.0.1:${api.port}`);
    expect(await connect('127.0.0.1')).toBe('connected');
    expect(await connect('127.0.0.2')).toBe('ECONNREFUSED');
  });

  it.each([
    ['foreign Host', { host: 'evil.example:PORT' }],
    ['Host with another port', { host: '127.0.0.1:1' }],
    ['foreign Origin', { origin: 'http://evil.example' }],
    ['null Origin', { origin: 'null' }],
    ['https Origin', { origin: 'https://127.0.0.1:PORT' }],
    ['Origin with another port', { origin: 'http://127.0.0.1:1' }],
    ['cross-site fetch metadata', { 'sec-fetch-site': 'cross-site' }],
    ['same-site fetch metadata', { 'sec-fetch-site': 'same-site' }],
  ])('rejects a check with %s', async (_label, headers) => {
    const { api, feed, updater } = await apiWithFeed();
    const filled = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace('PORT', String(api.port))]));

    const response = await rawRequest(api.port, { path: '/api/updates/check', headers: filled });

    expect(response.status).toBe(403);
    expect(JSON.parse(response.body).error.code).toBe('FORBIDDEN');
    expect(feed.server.requestsTo(FEED_PATH)).toHaveLength(0);
    expect(updater.getState().type).toBe('idle');
  });

  it('rejects a request without Host', async () => {
    const { api } = await apiWithFeed();

    const response = await rawRequest(api.port, { path: '/api/updates/version', setHost: false });

    // Node's HTTP server rejects an HTTP/1.1 request without Host with 400 itself, and the API rejects an empty Host with 403.
    expect([400, 403]).toContain(response.status);
    expect(response.status).not.toBe(200);
  });

  it.each([
    ['same-origin page', { origin: 'http://127.0.0.1:PORT', 'sec-fetch-site': 'same-origin' }],
    ['localhost name', { host: 'localhost:PORT' }],
    ['typed address', { 'sec-fetch-site': 'none' }],
  ])('accepts a check from %s', async (_label, headers) => {
    const { api, feed } = await apiWithFeed();
    const filled = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace('PORT', String(api.port))]));

    const response = await rawRequest(api.port, { path: '/api/updates/check', headers: filled });

    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).latest_version).toBe('2.1.0');
    expect(feed.server.requestsTo(FEED_PATH)).toHaveLength(1);
  });

  it('rejects state changes without the token', async () => {
    const { api, feed, updater } = await apiWithFeed();
    const post = (route: string, headers: Record<string, string>): Promise<{ status: number; body: string }> => rawRequest(api.port, { method: 'POST', path: route, headers });

    const missing = await post('/api/updates/download', {});
    const wrong = await post('/api/updates/install', { authorization: `Bearer ${api.token.slice(1)}x` });
    const scheme = await post('/api/updates/cancel', { authorization: api.token });

    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(403);
    expect(scheme.status).toBe(403);
    expect(feed.server.requests).toHaveLength(0);
    expect(updater.getState().type).toBe('idle');
  });

  it.each([
    ['an oversized body', `{"version":"${'1'.repeat(70 * 1024)}"}`, 400],
    ['a JSON array', '[]', 400],
    ['a version with a path', '{"version":"../../2.1.0"}', 400],
    ['an unknown field', '{"file":"/etc/passwd"}', 400],
  ])('rejects %s as input', async (_label, body, status) => {
    const { api, feed } = await apiWithFeed();

    const response = await rawRequest(api.port, { method: 'POST', path: '/api/updates/download', headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' }, body });

    expect(response.status).toBe(status);
    expect(JSON.parse(response.body).error.code).toBe('INVALID_INPUT');
    expect(feed.server.requests).toHaveLength(0);
  });

  it('rejects an invalid current_version', async () => {
    const { api, feed } = await apiWithFeed();

    const response = await rawRequest(api.port, { path: `/api/updates/check?current_version=${encodeURIComponent('2.0.0/../../x')}` });

    expect(response.status).toBe(400);
    expect(feed.server.requests).toHaveLength(0);
  });

  it('serves only files inside the UI folder', async () => {
    const feed = await gatedFeed();
    const updater = makeUpdater(`${feed.server.origin}${FEED_PATH}`);
    const uiDir = path.join(tmp, 'ui');
    await mkdir(uiDir, { recursive: true });
    await writeFile(path.join(uiDir, 'index.html'), '<html><head></head><body>ui</body></html>');
    await writeFile(path.join(uiDir, '..notes.txt'), 'notes');
    await writeFile(path.join(tmp, 'secret.txt'), 'secret');
    const api = await startHttpApi({ updater, home: path.join(tmp, 'home'), uiDir, logger: silentLogger });
    cleanups.push(() => api.close());

    const index = await rawRequest(api.port, { path: '/' });
    const dotted = await rawRequest(api.port, { path: '/..notes.txt' });
    const encodedSlash = await rawRequest(api.port, { path: '/..%2fsecret.txt' });
    const malformed = await rawRequest(api.port, { path: '/%E0%A4%A' });

    expect(index.status).toBe(200);
    expect(index.body).toContain('backend-updater-token');
    expect(dotted.status).toBe(200);
    expect(dotted.body).toBe('notes');
    expect(encodedSlash.status).toBe(404);
    expect(JSON.parse(encodedSlash.body).error.code).toBe('INVALID_INPUT');
    expect(malformed.status).toBe(404);
  });

  it('answers unknown routes and methods', async () => {
    const { api } = await apiWithFeed();

    const unknown = await rawRequest(api.port, { path: '/api/updates/rollback' });
    const method = await rawRequest(api.port, { method: 'DELETE', path: '/api/updates/install', headers: { authorization: `Bearer ${api.token}` } });

    expect(unknown.status).toBe(404);
    expect(method.status).toBe(405);
  });
});
