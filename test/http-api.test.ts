import fs from 'node:fs/promises';
import http from 'node:http';
import { silentLogger } from '../main/logger';
import { startServing, type ServeHandle } from '../main/cli/serve';
import { BackendUpdater } from '../main/updater/updater';
import { backendHealth, createWorld, type TestWorld } from './helpers/world';

let world: TestWorld | null = null;
let serving: ServeHandle | null = null;

afterEach(async () => {
  await serving?.stop();
  serving = null;
  await world?.cleanup();
  world = null;
});

/** Sends a raw request so that Host and Origin can be set freely. */
function rawRequest(port: number, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

async function serveWorld(): Promise<{ handle: ServeHandle; current: TestWorld }> {
  const current = await createWorld();
  world = current;
  const installer = new BackendUpdater({ config: current.config, logger: silentLogger });
  await installer.init();
  await installer.installFile({ file: current.old.files[0]!, version: '2.0.0', format: 'zip' });
  const handle = await startServing({ config: current.config, logger: silentLogger });
  serving = handle;
  return { handle, current };
}

describe('HTTP Update API', () => {
  it('checks, downloads and installs with the token', async () => {
    const { handle, current } = await serveWorld();
    const base = handle.api.url;
    const auth = { authorization: `Bearer ${(await fs.readFile(handle.api.tokenFile, 'utf8')).trim()}` };

    const version = await (await fetch(`${base}/api/updates/version`)).json();
    expect(version).toMatchObject({ current_version: '2.0.0', backend: { running: true } });

    const check = await (await fetch(`${base}/api/updates/check?current_version=2.0.0`)).json();
    expect(check).toMatchObject({ update_available: true, current_version: '2.0.0', latest_version: '2.1.0', asset_name: 'python-backend-2.1.0.zip' });
    expect(check.release_notes).toContain('**2.1.0**');

    const download = await fetch(`${base}/api/updates/download`, { method: 'POST', headers: auth });
    expect(download.status).toBe(200);
    expect((await download.json()).version).toBe('2.1.0');

    const install = await fetch(`${base}/api/updates/install`, { method: 'POST', headers: auth });
    expect(install.status).toBe(200);
    expect(await install.json()).toMatchObject({ version: '2.1.0', previous_version: '2.0.0' });
    expect((await backendHealth(current.config.backend.port)).body.version).toBe('2.1.0');
  });

  it('writes the token file with mode 0600', async () => {
    const { handle } = await serveWorld();
    const stat = await fs.stat(handle.api.tokenFile);
    expect(stat.mode & 0o777).toBe(0o600);
  });

  it('rejects POST without or with a wrong token', async () => {
    const { handle } = await serveWorld();
    const port = handle.api.port;
    const host = { host: `127.0.0.1:${port}` };

    const missing = await rawRequest(port, { method: 'POST', path: '/api/updates/install', headers: host });
    const wrong = await rawRequest(port, { method: 'POST', path: '/api/updates/install', headers: { ...host, authorization: 'Bearer nope' } });

    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body).error.code).toBe('UNAUTHORIZED');
    expect(wrong.status).toBe(403);
    expect(JSON.parse(wrong.body).error.code).toBe('FORBIDDEN');
    expect(serving?.updater.getState().type).toBe('idle');
  });

  it('rejects foreign Host and Origin headers', async () => {
    const { handle } = await serveWorld();
    const port = handle.api.port;
    const authorization = `Bearer ${handle.api.token}`;

    const rebound = await rawRequest(port, { path: '/api/updates/version', headers: { host: `evil.example:${port}` } });
    const foreign = await rawRequest(port, { method: 'POST', path: '/api/updates/install', headers: { host: `127.0.0.1:${port}`, origin: 'http://evil.example', authorization } });

    expect(rebound.status).toBe(403);
    expect(foreign.status).toBe(403);
    expect(serving?.updater.getState().type).toBe('idle');
  });

  it('validates the POST body', async () => {
    const { handle } = await serveWorld();
    const headers = { authorization: `Bearer ${handle.api.token}`, 'content-type': 'application/json' };
    const post = (body: string) => fetch(`${handle.api.url}/api/updates/download`, { method: 'POST', headers, body });

    const unknownKey = await post('{"force": true}');
    const notJson = await post('{');
    const otherVersion = await post('{"version": "9.9.9"}');
    const matching = await post('{"version": "2.1.0"}');

    expect(unknownKey.status).toBe(400);
    expect(notJson.status).toBe(400);
    expect(otherVersion.status).toBe(409);
    expect((await otherVersion.json()).error.code).toBe('INVALID_STATE');
    expect(matching.status).toBe(200);
    expect((await matching.json()).version).toBe('2.1.0');
  });

  it('rejects an invalid current_version', async () => {
    const { handle } = await serveWorld();
    const response = await fetch(`${handle.api.url}/api/updates/check?current_version=latest`);
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe('INVALID_INPUT');
  });

  it('streams state changes as server-sent events', async () => {
    const { handle } = await serveWorld();
    const controller = new AbortController();
    const response = await fetch(`${handle.api.url}/api/updates/events`, { signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const check = fetch(`${handle.api.url}/api/updates/check`);
    while (!text.includes('"type":"available"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    await check;
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(text).toContain('event: state');
    expect(text.indexOf('"type":"checking"')).toBeLessThan(text.indexOf('"type":"available"'));
  });
});
