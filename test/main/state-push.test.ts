import { createUrlPolicy } from '../../main/electron/url-policy';
import { registerUpdateIpc, type UpdateIpcRegistration } from '../../main/ipc';
import { silentLogger } from '../../main/logger';
import { UpdateError } from '../../main/updater/errors';
import type { UpdateState } from '../../main/updater/state';
import { UPDATE_CHANNELS, type BridgeResult } from '../../preload/api';
import { FakeIpcMain, FakeUpdater, FakeWindow, invokeEvent, RENDERER_FILE, updateInfo } from './fakes';

const policy = createUrlPolicy({ rendererFile: RENDERER_FILE });
const TOTAL = 1_048_576;

function seqs(states: readonly UpdateState[]): number[] {
  return states.map((state) => state.seq);
}

function expectStrictlyIncreasing(values: readonly number[]): void {
  for (let index = 1; index < values.length; index += 1) {
    expect(values[index]).toBeGreaterThan(values[index - 1]!);
  }
}

describe('state pushes', () => {
  let updater: FakeUpdater;
  let ipcMain: FakeIpcMain;
  let windows: FakeWindow[];
  let registration: UpdateIpcRegistration;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeEach(() => {
    vi.useFakeTimers();
    rejections.length = 0;
    process.on('unhandledRejection', onRejection);
    updater = new FakeUpdater();
    ipcMain = new FakeIpcMain();
    windows = [];
    registration = registerUpdateIpc({
      ipcMain,
      updater,
      isTrustedSender: policy.isTrustedSender,
      // Resolved at every send, never captured at start-up.
      getWindows: () => windows,
      logger: silentLogger,
      throttleMs: 250,
      now: () => Date.now(),
    });
  });

  afterEach(() => {
    registration.dispose();
    process.off('unhandledRejection', onRejection);
    vi.useRealTimers();
  });

  it('reaches late windows and skips closed ones', async () => {
    await ipcMain.invoke(UPDATE_CHANNELS.check);
    const download = ipcMain.invoke(UPDATE_CHANNELS.download) as Promise<BridgeResult<unknown>>;
    const windowA = new FakeWindow();
    const windowB = new FakeWindow();

    for (let percent = 0; percent <= 100; percent += 10) {
      if (percent === 10) windows.push(windowA);
      if (percent === 30) windows.push(windowB);
      if (percent === 60) windowA.close();
      updater.progress((TOTAL * percent) / 100);
      await vi.advanceTimersByTimeAsync(300);
    }
    const seenByA = windowA.received.length;
    updater.finishDownload();
    await download;

    updater.checkImpl = async () => {
      const error = new UpdateError('NETWORK', 'Could not reach feed.example: getaddrinfo ENOTFOUND feed.example');
      updater.emit({ type: 'error', error: error.toData(), during: 'checking' });
      throw error;
    };
    const failed = (await ipcMain.invoke(UPDATE_CHANNELS.check)) as BridgeResult<unknown>;
    await vi.advanceTimersByTimeAsync(1000);

    expect(failed.ok).toBe(false);
    expect(windowA.received.length).toBe(seenByA);
    expect(windowA.received.at(-1)).toMatchObject({ type: 'downloading', percent: 50 });
    expect(windowB.received.map((state) => state.type === 'downloading' ? state.percent : state.type)).toEqual([
      30, 40, 50, 60, 70, 80, 90, 100, 'downloaded', 'checking', 'error',
    ]);
    expect(rejections).toEqual([]);

    // A later check still works and still reaches the open window.
    updater.checkImpl = async () => {
      updater.emit({ type: 'available', update: updateInfo() });
      return { updateAvailable: true, currentVersion: '2.0.0', latestVersion: '2.1.0', update: updateInfo() };
    };
    await expect(ipcMain.invoke(UPDATE_CHANNELS.check, invokeEvent())).resolves.toMatchObject({ ok: true });
    expect(windowB.received.at(-1)?.type).toBe('available');
  });

  it('throttles ticks and flushes before downloaded', async () => {
    const window = new FakeWindow();
    windows.push(window);
    void ipcMain.invoke(UPDATE_CHANNELS.download);

    // A tick every 50 ms for one second; the body ends 100 ms after the last tick.
    for (let step = 0; step <= 20; step += 1) {
      updater.progress((TOTAL * step) / 20);
      await vi.advanceTimersByTimeAsync(50);
    }
    await vi.advanceTimersByTimeAsync(50);
    updater.finishDownload();
    await vi.advanceTimersByTimeAsync(1000);

    const received = window.received;
    expectStrictlyIncreasing(seqs(received));
    const ticks = received.filter((state) => state.type === 'downloading');
    expect(ticks.length).toBeLessThanOrEqual(6);
    expect(ticks.at(-1)).toMatchObject({ percent: 100 });
    expect(received.at(-1)?.type).toBe('downloaded');
    expect(received.findIndex((state) => state.type === 'downloaded')).toBe(received.length - 1);
  });

  it('spaces ticks by the throttle interval', async () => {
    const window = new FakeWindow();
    windows.push(window);
    void ipcMain.invoke(UPDATE_CHANNELS.download);
    const sentAt: number[] = [];
    const original = window.webContents.send;
    window.webContents.send = (channel: string, state: unknown) => {
      sentAt.push(Date.now());
      original(channel, state);
    };

    for (let step = 0; step < 40; step += 1) {
      updater.progress(step * 1000);
      await vi.advanceTimersByTimeAsync(25);
    }
    await vi.advanceTimersByTimeAsync(500);

    const gaps = sentAt.slice(1).map((time, index) => time - sentAt[index]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(250);
    expect(window.received.at(-1)).toMatchObject({ transferred: 39_000 });
  });

  it('drops a state older than the last push', () => {
    const window = new FakeWindow();
    windows.push(window);
    const available = updater.emit({ type: 'checking', currentVersion: '2.0.0' });
    updater.state = { ...available, seq: available.seq - 1 };
    updater.emit({ type: 'idle', currentVersion: '2.0.0' });

    expect(seqs(window.received)).toEqual([available.seq]);
  });

  it('sends a new download at once', async () => {
    const window = new FakeWindow();
    windows.push(window);
    void ipcMain.invoke(UPDATE_CHANNELS.download);
    updater.progress(10_000);
    updater.progress(20_000);
    await ipcMain.invoke(UPDATE_CHANNELS.cancel);
    void ipcMain.invoke(UPDATE_CHANNELS.download);
    updater.progress(0);

    const types = window.received.map((state) => (state.type === 'downloading' ? `${state.downloadId}:${state.transferred}` : state.type));
    expect(types).toEqual(['d1:10000', 'd1:20000', 'available', 'd2:0']);
  });
});
