import http from 'node:http';
import net from 'node:net';
import { createUrlPolicy } from '../../main/electron/url-policy';
import { registerUpdateIpc, type UpdateIpcRegistration } from '../../main/ipc';
import { silentLogger } from '../../main/logger';
import { UpdateError } from '../../main/updater/errors';
import type { UpdateState } from '../../main/updater/state';
import { BridgeError, UPDATE_CHANNELS, UPDATE_COMMANDS, unwrapResult, type BridgeResult } from '../../preload/api';
import {
  appFrame,
  DEV_SERVER_URL,
  errorOf,
  expectPlainData,
  FakeIpcMain,
  FakeUpdater,
  FakeWindow,
  invokeEvent,
  RENDERER_FILE,
  updateInfo,
} from './fakes';

const policy = createUrlPolicy({ rendererFile: RENDERER_FILE, devServerUrl: DEV_SERVER_URL });

describe('registerUpdateIpc', () => {
  let ipcMain: FakeIpcMain;
  let updater: FakeUpdater;
  let windows: FakeWindow[];
  let registration: UpdateIpcRegistration;

  beforeEach(() => {
    ipcMain = new FakeIpcMain();
    updater = new FakeUpdater();
    windows = [new FakeWindow()];
    registration = registerUpdateIpc({
      ipcMain,
      updater,
      isTrustedSender: policy.isTrustedSender,
      getWindows: () => windows,
      logger: silentLogger,
      throttleMs: 0,
    });
  });

  afterEach(() => {
    registration.dispose();
    expect(ipcMain.handlers.size).toBe(0);
    expect(updater.listenerCount()).toBe(0);
  });

  const invoke = (channel: string, ...args: unknown[]) =>
    ipcMain.invoke(channel, invokeEvent(), ...args) as Promise<BridgeResult<unknown>>;

  it('registers one handler per command', () => {
    expect([...ipcMain.handlers.keys()].sort()).toEqual(UPDATE_COMMANDS.map((command) => UPDATE_CHANNELS[command]).sort());
    expect(ipcMain.handlers.has(UPDATE_CHANNELS.state)).toBe(false);
  });

  it('returns command results in envelopes', async () => {
    const result = await invoke(UPDATE_CHANNELS.getVersion);

    expect(result).toEqual({ ok: true, value: expect.objectContaining({ currentVersion: '2.0.0' }) });
    expect(updater.calls).toEqual(['getVersion']);
  });

  it.each([
    ['a foreign web page', { url: 'https://evil.example/', parent: null }],
    ['another local file', { url: 'file:///tmp/page.html', parent: null }],
    ['a subframe of the app', { url: `file://${RENDERER_FILE}`, parent: {} }],
    ['a destroyed frame', null],
  ])('rejects %s as sender', async (_name, frame) => {
    const result = (await ipcMain.invoke(UPDATE_CHANNELS.check, invokeEvent(frame))) as BridgeResult<unknown>;

    expect(errorOf(result).code).toBe('FORBIDDEN');
    expect(updater.calls).toEqual([]);
  });

  it('accepts the dev server origin', async () => {
    const result = (await ipcMain.invoke(UPDATE_CHANNELS.getState, invokeEvent(appFrame(`${DEV_SERVER_URL}/#/updates`)))) as BridgeResult<unknown>;

    expect(result.ok).toBe(true);
  });

  it('rejects extra arguments as invalid input', async () => {
    for (const args of [[1], ['2.0.0'], [{ force: true }], [undefined]]) {
      const result = await invoke(UPDATE_CHANNELS.install, ...args);
      expect(errorOf(result).code).toBe('INVALID_INPUT');
      expect(errorOf(result).message).toContain(UPDATE_CHANNELS.install);
    }
    expect(updater.calls).toEqual([]);
  });

  it('names an unknown channel in its error', async () => {
    const { createUpdateCommandHandler } = await import('../../main/ipc');
    const handler = createUpdateCommandHandler({ updater, isTrustedSender: policy.isTrustedSender, logger: silentLogger });

    const result = await handler('backend-updates:rollback', invokeEvent(), []);

    expect(errorOf(result).code).toBe('INVALID_INPUT');
    expect(errorOf(result).message).toContain('"backend-updates:rollback"');
  });

  it('sends error codes and details as data', async () => {
    updater.install = () =>
      Promise.reject(
        new UpdateError('CHECKSUM_MISMATCH', 'SHA-256 of python-backend-2.1.0.tar.gz does not match.', {
          details: { expected: 'ba78'.padEnd(64, '0'), actual: '00'.repeat(32) },
        }),
      );

    const result = await invoke(UPDATE_CHANNELS.install);

    expect(result).toEqual({
      ok: false,
      error: {
        code: 'CHECKSUM_MISMATCH',
        message: 'SHA-256 of python-backend-2.1.0.tar.gz does not match.',
        retryable: false,
        details: { expected: 'ba78'.padEnd(64, '0'), actual: '00'.repeat(32) },
      },
    });
    expectPlainData(result);
    const rebuilt = await unwrapResult(Promise.resolve(result)).catch((error: unknown) => error);
    expect(rebuilt).toBeInstanceOf(BridgeError);
    expect((rebuilt as BridgeError).code).toBe('CHECKSUM_MISMATCH');
    expect((rebuilt as BridgeError).details).toEqual({ expected: 'ba78'.padEnd(64, '0'), actual: '00'.repeat(32) });
  });

  it('turns an unusual state into plain data', async () => {
    class Helper {
      readonly label = 'helper';
      describe(): string {
        return this.label;
      }
    }
    const odd = {
      ...updater.state,
      helper: new Helper(),
      checkedAt: new Date('2025-03-01T09:00:00.000Z'),
      refresh: () => undefined,
    };
    updater.getState = () => odd as unknown as UpdateState;

    const result = await invoke(UPDATE_CHANNELS.getState);

    expectPlainData(result);
    expect(result).toEqual({
      ok: true,
      value: { type: 'idle', seq: 1, currentVersion: '2.0.0', helper: { label: 'helper' }, checkedAt: '2025-03-01T09:00:00.000Z' },
    });
  });

  it('wraps a foreign error without its fields', async () => {
    const response = new http.IncomingMessage(new net.Socket());
    updater.check = () => Promise.reject(Object.assign(new Error('x'), { response }));

    const result = await invoke(UPDATE_CHANNELS.check);

    expectPlainData(result);
    expect(result).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'Unexpected error: x', retryable: false } });
  });

  it('keeps every result and push plain', async () => {
    const results: unknown[] = [];
    results.push(await invoke(UPDATE_CHANNELS.getVersion));
    results.push(await invoke(UPDATE_CHANNELS.check));
    const download = invoke(UPDATE_CHANNELS.download);
    updater.progress(0);
    updater.progress(524_288);
    updater.finishDownload();
    results.push(await download);
    const install = invoke(UPDATE_CHANNELS.install);
    results.push(await invoke(UPDATE_CHANNELS.cancel));
    updater.finishInstall();
    results.push(await install);
    results.push(await invoke(UPDATE_CHANNELS.cancel));
    results.push(await invoke(UPDATE_CHANNELS.getState));

    for (const result of results) expectPlainData(result);
    const pushed = windows[0]!.received;
    expect(pushed.map((state) => state.type)).toEqual([
      'checking', 'available', 'downloading', 'downloading', 'downloaded', 'installing', 'installed',
    ]);
    for (const state of pushed) expectPlainData(state);
  });

  describe('cancel', () => {
    it('cancels a running download', async () => {
      await invoke(UPDATE_CHANNELS.check);
      const download = invoke(UPDATE_CHANNELS.download);
      updater.progress(314_573);
      const signal = updater.currentDownloadSignal!;

      const cancelled = await invoke(UPDATE_CHANNELS.cancel);

      expect(cancelled).toEqual({ ok: true, value: true });
      expect(signal.aborted).toBe(true);
      const result = await download;
      expect(errorOf(result).code).toBe('CANCELLED');
      const types = windows[0]!.received.map((state) => state.type);
      expect(types.at(-1)).toBe('available');
      expect(types).not.toContain('error');
    });

    it('cancels before the first progress push', async () => {
      await invoke(UPDATE_CHANNELS.check);
      const download = invoke(UPDATE_CHANNELS.download);
      // No `downloading` state exists yet; the command must still reach the updater.
      expect(updater.state.type).toBe('available');

      const cancelled = await invoke(UPDATE_CHANNELS.cancel);

      expect(cancelled).toEqual({ ok: true, value: true });
      expect(updater.calls).toContain('cancel');
      await expect(download).resolves.toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    });

    it('finishes a download after five cancels', async () => {
      await invoke(UPDATE_CHANNELS.check);
      const signals: AbortSignal[] = [];
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const download = invoke(UPDATE_CHANNELS.download);
        updater.progress(100_000 * (attempt + 1));
        signals.push(updater.currentDownloadSignal!);
        expect(await invoke(UPDATE_CHANNELS.cancel)).toEqual({ ok: true, value: true });
        await expect(download).resolves.toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
      }

      const sixth = invoke(UPDATE_CHANNELS.download);
      updater.progress(0);
      const signal = updater.currentDownloadSignal!;
      updater.progress(1_048_576);
      updater.finishDownload();

      await expect(sixth).resolves.toEqual({ ok: true, value: { version: '2.1.0', sha256: 'ab'.repeat(32), size: 1_048_576 } });
      expect(new Set([...signals, signal]).size).toBe(6);
      expect(signal.aborted).toBe(false);
    });

    it('refuses to cancel an install', async () => {
      const install = invoke(UPDATE_CHANNELS.install);

      const cancelled = await invoke(UPDATE_CHANNELS.cancel);

      expect(cancelled).toMatchObject({ ok: false, error: { code: 'NOT_CANCELLABLE' } });
      updater.finishInstall();
      await expect(install).resolves.toMatchObject({ ok: true, value: { version: '2.1.0' } });
    });

    it('returns false when nothing runs', async () => {
      expect(await invoke(UPDATE_CHANNELS.cancel)).toEqual({ ok: true, value: false });
    });
  });

  it('pushes the update to the window', async () => {
    updater.emit({ type: 'available', update: updateInfo({ version: '2.2.0' }) });

    const last = windows[0]!.received.at(-1);
    expect(last).toMatchObject({ type: 'available', update: { version: '2.2.0' } });
  });
});
