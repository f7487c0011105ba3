import { EventEmitter } from 'node:events';
import { deferQuitUntilStopped } from '../../main/electron/quit-guard';
import { mirrorProgressToTaskbar, type ProgressWindow } from '../../main/electron/taskbar-progress';
import { silentLogger } from '../../main/logger';
import { FakeUpdater } from './fakes';

/** App stand-in whose quit() emits before-quit and records whether it went through. */
class FakeApp extends EventEmitter {
  exits = 0;

  quit(): void {
    let prevented = false;
    this.emit('before-quit', { preventDefault: () => (prevented = true) });
    if (!prevented) this.exits += 1;
  }
}

describe('deferQuitUntilStopped', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('quits after the backend stops', async () => {
    const app = new FakeApp();
    let finishStop: () => void = () => undefined;
    const stop = vi.fn(() => new Promise<void>((resolve) => (finishStop = resolve)));
    deferQuitUntilStopped({ app, stop, deadlineMs: 10_000, logger: silentLogger });

    app.quit();
    app.quit();
    expect(app.exits).toBe(0);
    expect(stop).toHaveBeenCalledTimes(1);

    finishStop();
    await vi.advanceTimersByTimeAsync(0);
    expect(app.exits).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('quits at the deadline', async () => {
    const app = new FakeApp();
    deferQuitUntilStopped({ app, stop: () => new Promise<void>(() => undefined), deadlineMs: 10_000, logger: silentLogger });

    app.quit();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(app.exits).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(app.exits).toBe(1);
  });

  it('quits when stopping fails', async () => {
    const app = new FakeApp();
    deferQuitUntilStopped({ app, stop: () => Promise.reject(new Error('kill failed')), logger: silentLogger });

    app.quit();
    await vi.advanceTimersByTimeAsync(0);

    expect(app.exits).toBe(1);
  });
});

describe('mirrorProgressToTaskbar', () => {
  function progressWindow(): ProgressWindow & { values: number[]; destroyed: boolean } {
    const window = {
      values: [] as number[],
      destroyed: false,
      isDestroyed: () => window.destroyed,
      setProgressBar: (value: number) => void window.values.push(value),
    };
    return window;
  }

  it('shows download progress and removes it', () => {
    const updater = new FakeUpdater();
    const window = progressWindow();
    const closed = progressWindow();
    closed.destroyed = true;
    const stop = mirrorProgressToTaskbar({ updater, getWindows: () => [window, closed] });
    void updater.download();

    updater.progress(0);
    updater.progress(262_144);
    updater.progress(262_200);
    updater.progress(524_288, null);
    updater.finishDownload();
    stop();

    expect(window.values).toEqual([0, 0.25, 2, -1]);
    expect(closed.values).toEqual([]);
  });
});
