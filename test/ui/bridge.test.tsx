// @vitest-environment jsdom
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { UpdateState } from '../../main/updater/state';
import type { BackendUpdatesApi } from '../../preload/api';
import { createHttpBackendUpdates, getBackendUpdates, mapCheckJson, mapStateJson, readApiToken } from '../../src/bridge';
import { errorOf } from '../main/fakes';
import { TRUSTED_KEY_ID, unsignedSignature, updateInfo } from './render';

interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
}

type Route = (request: http.IncomingMessage) => { status: number; body: unknown };

/** Starts a stand-in Update API on 127.0.0.1 that responds from `routes` and records requests. */
async function startApi(routes: Record<string, Route>) {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((request, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
    const route = routes[`${request.method} ${request.url}`];
    const { status, body } = route ? route(request) : { status: 404, body: { error: { code: 'INVALID_INPUT', message: 'Not found', retryable: false } } };
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const checkJson = {
  update_available: true,
  current_version: '2.0.0',
  latest_version: '2.1.0',
  release_name: 'Backend 2.1.0',
  release_notes: '## Fixes',
  published_at: '2025-02-20T10:00:00.000Z',
  prerelease: false,
  asset_name: 'python-backend-2.1.0-linux-x64.tar.gz',
  asset_size: 1_048_576,
  download_url: 'https://example.invalid/python-backend-2.1.0-linux-x64.tar.gz',
  signature: { status: 'verified', key_id: TRUSTED_KEY_ID },
};

describe('createHttpBackendUpdates', () => {
  let api: Awaited<ReturnType<typeof startApi>> | null = null;

  afterEach(async () => {
    await api?.close();
    api = null;
  });

  function bridgeFor(baseUrl: string, token: string | null = 'secret-token'): BackendUpdatesApi {
    return createHttpBackendUpdates({ baseUrl, token, fetch: globalThis.fetch, createEventSource: () => new FakeEventSource() as unknown as EventSource });
  }

  it('maps the version answer', async () => {
    api = await startApi({
      'GET /api/updates/version': () => ({
        status: 200,
        body: { current_version: '2.0.0', previous_version: '1.9.0', backend: { running: true, healthy: true, pid: 42, port: 8765, version: '2.0.0' }, state: { type: 'idle', seq: 1 } },
      }),
    });

    const result = await bridgeFor(api.baseUrl).getVersion();

    expect(result).toEqual({
      ok: true,
      value: { currentVersion: '2.0.0', previousVersion: '1.9.0', backend: { running: true, healthy: true, pid: 42, port: 8765, version: '2.0.0' } },
    });
    expect(api.requests[0]?.authorization).toBeUndefined();
  });

  it('sends the token on commands', async () => {
    api = await startApi({
      'POST /api/updates/download': () => ({ status: 200, body: { version: '2.1.0', sha256: 'ab'.repeat(32), size: 1_048_576 } }),
      'POST /api/updates/install': () => ({ status: 200, body: { version: '2.1.0', previous_version: '2.0.0', health: { ok: true } } }),
      'POST /api/updates/cancel': () => ({ status: 200, body: { cancelled: true } }),
    });
    const bridge = bridgeFor(api.baseUrl);

    await expect(bridge.download()).resolves.toEqual({ ok: true, value: { version: '2.1.0', sha256: 'ab'.repeat(32), size: 1_048_576 } });
    await expect(bridge.install()).resolves.toEqual({ ok: true, value: { version: '2.1.0', previousVersion: '2.0.0', health: { ok: true } } });
    await expect(bridge.cancel()).resolves.toEqual({ ok: true, value: true });
    expect(api.requests.map((request) => request.authorization)).toEqual(Array(3).fill('Bearer secret-token'));
  });

  it('maps the check answer', async () => {
    api = await startApi({ 'GET /api/updates/check': () => ({ status: 200, body: checkJson }) });

    const result = await bridgeFor(api.baseUrl).check();

    expect(result).toEqual({
      ok: true,
      value: {
        updateAvailable: true,
        currentVersion: '2.0.0',
        latestVersion: '2.1.0',
        update: updateInfo({ releaseNotes: '## Fixes', downloadUrl: checkJson.download_url }),
      },
    });
  });

  it('keeps error codes and details', async () => {
    const error = { code: 'CHECKSUM_MISMATCH', message: 'SHA-256 does not match.', retryable: false, details: { expected: 'ba78', actual: '0000' } };
    api = await startApi({ 'POST /api/updates/install': () => ({ status: 422, body: { error } }) });

    await expect(bridgeFor(api.baseUrl).install()).resolves.toEqual({ ok: false, error });
  });

  it('names the route of a malformed answer', async () => {
    api = await startApi({ 'GET /api/updates/version': () => ({ status: 200, body: { current: '2.0.0' } }) });

    const result = await bridgeFor(api.baseUrl).getVersion();

    expect(errorOf(result).code).toBe('INTERNAL');
    expect(errorOf(result).message).toContain('GET /api/updates/version');
  });

  it('reports an unreachable server as network error', async () => {
    api = await startApi({});
    const baseUrl = api.baseUrl;
    await api.close();
    api = null;

    const result = await bridgeFor(baseUrl).getState();

    expect(result).toMatchObject({ ok: false, error: { code: 'NETWORK', retryable: true } });
    expect(errorOf(result).message).toContain(baseUrl);
  });

  it('shares one event stream among listeners', () => {
    const sources: FakeEventSource[] = [];
    const bridge = createHttpBackendUpdates({
      baseUrl: 'http://127.0.0.1:9',
      token: null,
      createEventSource: (url) => {
        const source = new FakeEventSource(url);
        sources.push(source);
        return source as unknown as EventSource;
      },
    });
    const first: number[] = [];
    const second: number[] = [];

    const offFirst = bridge.onState((state) => first.push(state.seq));
    const offSecond = bridge.onState((state) => second.push(state.seq));
    const state: UpdateState = { type: 'available', seq: 5, update: updateInfo() };
    sources[0]!.dispatch('state', JSON.stringify(state));
    sources[0]!.dispatch('state', 'not json');

    expect(sources).toHaveLength(1);
    expect(sources[0]!.url).toBe('http://127.0.0.1:9/api/updates/events');
    expect(first).toEqual([5]);
    expect(second).toEqual([5]);
    offFirst();
    expect(sources[0]!.closed).toBe(false);
    offSecond();
    expect(sources[0]!.closed).toBe(true);
  });

  it('keeps the signature of pushed states', () => {
    const sources: FakeEventSource[] = [];
    const bridge = createHttpBackendUpdates({
      baseUrl: 'http://127.0.0.1:9',
      token: null,
      createEventSource: (url) => {
        const source = new FakeEventSource(url);
        sources.push(source);
        return source as unknown as EventSource;
      },
    });
    const received: UpdateState[] = [];
    const off = bridge.onState((state) => received.push(state));
    const verified: UpdateState = { type: 'available', seq: 2, update: updateInfo() };
    const unsigned: UpdateState = { type: 'downloaded', seq: 3, update: updateInfo({ signature: unsignedSignature() }), sha256: 'ab'.repeat(32) };
    const { signature: _dropped, ...withoutSignature } = updateInfo();

    sources[0]!.dispatch('state', JSON.stringify(verified));
    sources[0]!.dispatch('state', JSON.stringify(unsigned));
    sources[0]!.dispatch('state', JSON.stringify({ type: 'available', seq: 4, update: withoutSignature }));
    off();

    expect(received).toEqual([verified, unsigned]);
  });
});

describe('mapCheckJson', () => {
  it('maps no update', () => {
    const result = mapCheckJson({ ...checkJson, update_available: false, latest_version: '2.0.0', asset_name: null, download_url: null, asset_size: null });

    expect(result).toEqual({ updateAvailable: false, currentVersion: '2.0.0', latestVersion: '2.0.0', update: null });
  });

  it('rejects an update without an asset', () => {
    expect(() => mapCheckJson({ ...checkJson, asset_name: null })).toThrow('asset_name');
  });

  it('maps an unsigned update', () => {
    const result = mapCheckJson({ ...checkJson, signature: { status: 'unsigned', key_id: null } });

    expect(result.update?.signature).toEqual(unsignedSignature());
  });

  it('rejects an update without a signature', () => {
    expect(() => mapCheckJson({ ...checkJson, signature: null })).toThrow('signature');
    const { signature: _dropped, ...withoutSignature } = checkJson;
    expect(() => mapCheckJson(withoutSignature)).toThrow('signature');
  });

  it('rejects a malformed signature', () => {
    const malformed = [
      { status: 'verified', key_id: null },
      { status: 'verified', key_id: 'Example Corp' },
      { status: 'verified', key_id: TRUSTED_KEY_ID.toLowerCase() },
      { status: 'unsigned', key_id: TRUSTED_KEY_ID },
      { status: 'trusted', key_id: TRUSTED_KEY_ID },
    ];
    for (const signature of malformed) {
      expect(() => mapCheckJson({ ...checkJson, signature }), JSON.stringify(signature)).toThrow();
    }
  });
});

describe('mapStateJson', () => {
  it('keeps the update signature', () => {
    const state: UpdateState = { type: 'available', seq: 7, update: updateInfo({ signature: unsignedSignature() }) };

    expect(mapStateJson(JSON.parse(JSON.stringify(state)))).toEqual(state);
  });

  it('keeps fields it does not check', () => {
    const state = { type: 'available', seq: 7, update: { ...updateInfo(), channel: 'beta' }, origin: 'feed' };

    expect(mapStateJson(state)).toEqual(state);
  });

  it('rejects a verified signature without key', () => {
    const update = { ...updateInfo(), signature: { status: 'verified', keyId: null } };

    expect(() => mapStateJson({ type: 'available', seq: 7, update })).toThrow('keyId');
  });

  it('accepts states without an update', () => {
    const state: UpdateState = { type: 'error', seq: 3, error: { code: 'NETWORK', message: 'Offline.', retryable: true }, during: 'checking' };

    expect(mapStateJson(state)).toEqual(state);
  });
});

describe('getBackendUpdates', () => {
  afterEach(() => {
    delete window.backendUpdates;
    document.head.innerHTML = '';
  });

  it('prefers the preload API', () => {
    const exposed = { onState: () => () => undefined } as unknown as BackendUpdatesApi;
    window.backendUpdates = exposed;

    expect(getBackendUpdates()).toBe(exposed);
  });

  it('reads the token from the page', () => {
    document.head.innerHTML = '<meta name="backend-updater-token" content="abc123">';

    expect(readApiToken(document)).toBe('abc123');
    expect(typeof getBackendUpdates().check).toBe('function');
  });

  it('returns null without a token', () => {
    expect(readApiToken(document)).toBeNull();
  });
});

/** EventSource stand-in: jsdom and Node 20 have none. */
class FakeEventSource {
  readyState = 1;
  closed = false;
  private readonly listeners = new Map<string, Array<(event: MessageEvent<string>) => void>>();

  constructor(readonly url = '') {}

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  dispatch(type: string, data: string): void {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    for (const listener of this.listeners.get(type) ?? []) listener(new MessageEvent(type, { data }));
    warn.mockRestore();
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
}
