import { EventEmitter } from 'node:events';
import type { MenuItemConstructorOptions } from 'electron';
import { CHECK_FOR_UPDATES_ID, type MenuApi } from '../../main/electron/menu';
import { createUpdateNotifier, type NotificationLike } from '../../main/electron/notifier';
import { scheduleSettingsFromEnv, setUpUpdateChecks, type UpdateChecks } from '../../main/electron/update-checks';
import { silentLogger } from '../../main/logger';
import { CancelledError, UpdateError } from '../../main/updater/errors';
import type { CheckResult } from '../../main/updater/service';
import { FakeUpdater, updateInfo } from './fakes';

interface BuiltMenu {
  template: MenuItemConstructorOptions[];
}

/** Menu stand-in that keeps the template of the application menu. */
class FakeMenu implements MenuApi<BuiltMenu> {
  current: BuiltMenu | null = null;
  builds = 0;

  buildFromTemplate(template: MenuItemConstructorOptions[]): BuiltMenu {
    this.builds += 1;
    return { template };
  }

  setApplicationMenu(menu: BuiltMenu | null): void {
    this.current = menu;
  }

  checkItem(): MenuItemConstructorOptions {
    const find = (items: MenuItemConstructorOptions[]): MenuItemConstructorOptions | undefined => {
      for (const item of items) {
        if (item.id === CHECK_FOR_UPDATES_ID) return item;
        const found = Array.isArray(item.submenu) ? find(item.submenu as MenuItemConstructorOptions[]) : undefined;
        if (found) return found;
      }
      return undefined;
    };
    const item = this.current && find(this.current.template);
    if (!item) throw new Error('The application menu has no "Check for Updates…" item');
    return item;
  }

  clickCheck(): void {
    const click = this.checkItem().click as (() => void) | undefined;
    click?.();
  }
}

/** Makes the next check wait until cancelled, like a request to a feed that never responds. */
function hangUntilCancelled(updater: FakeUpdater): void {
  updater.checkImpl = () =>
    new Promise<CheckResult>((_resolve, reject) => {
      const original = updater.cancel.bind(updater);
      updater.cancel = async () => {
        updater.emit({ type: 'idle', currentVersion: '2.0.0' });
        reject(new CancelledError());
        updater.cancel = original;
        return true;
      };
    });
}

describe('setUpUpdateChecks', () => {
  let updater: FakeUpdater;
  let menu: FakeMenu;
  let power: EventEmitter;
  let messages: Array<{ type: string; message: string; detail: string }>;
  let notifications: Array<{ title: string; body: string }>;
  let focused: number;
  let checks: UpdateChecks;

  beforeEach(() => {
    vi.useFakeTimers();
    updater = new FakeUpdater();
    menu = new FakeMenu();
    power = new EventEmitter();
    messages = [];
    notifications = [];
    focused = 0;
    const notifier = createUpdateNotifier({
      isSupported: () => true,
      create: (options): NotificationLike => {
        notifications.push(options);
        return { on: () => undefined, show: () => undefined };
      },
      onClick: () => undefined,
      logger: silentLogger,
    });
    checks = setUpUpdateChecks({
      updater,
      Menu: menu,
      appName: 'Backend Updater',
      platform: 'linux',
      notifier,
      powerMonitor: power,
      showMessage: async (options) => void messages.push(options),
      focusMainWindow: () => {
        focused += 1;
      },
      schedule: { initialDelayMs: 10_000, intervalMs: 60 * 60_000 },
      logger: silentLogger,
    });
  });

  afterEach(() => {
    checks.dispose();
    vi.useRealTimers();
  });

  it('runs a check from the menu item', async () => {
    expect(menu.checkItem()).toMatchObject({ label: 'Check for Updates…', enabled: true });

    menu.clickCheck();
    await vi.advanceTimersByTimeAsync(0);

    expect(updater.calls.filter((call) => call !== 'getState')).toEqual(['check']);
    expect(focused).toBe(1);
    expect(notifications).toEqual([]);
  });

  it('disables the item while checking', async () => {
    let finish: () => void = () => undefined;
    updater.checkImpl = () =>
      new Promise((resolve) => {
        finish = () => {
          updater.emit({ type: 'not-available', currentVersion: '2.0.0', latestVersion: '2.0.0', reason: 'up-to-date' });
          resolve({ updateAvailable: false, currentVersion: '2.0.0', latestVersion: '2.0.0', update: null });
        };
      });

    menu.clickCheck();
    await vi.advanceTimersByTimeAsync(0);
    expect(menu.checkItem()).toMatchObject({ label: 'Checking for Updates…', enabled: false });

    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(menu.checkItem()).toMatchObject({ label: 'Check for Updates…', enabled: true });
    expect(messages).toEqual([
      { type: 'info', message: "You're up to date (2.0.0)", detail: 'Backend 2.0.0 is the newest version available.' },
    ]);
  });

  it('restores the item after suspend', async () => {
    hangUntilCancelled(updater);
    checks.scheduler.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(menu.checkItem()).toMatchObject({ label: 'Checking for Updates…', enabled: false });

    power.emit('suspend');
    await vi.advanceTimersByTimeAsync(0);

    expect(menu.checkItem()).toMatchObject({ label: 'Check for Updates…', enabled: true });
    expect(updater.state.type).toBe('idle');
    vi.setSystemTime(Date.now() + 8 * 60 * 60_000);
    power.emit('resume');
    await vi.advanceTimersByTimeAsync(15_000);
    expect(updater.calls.filter((call) => call === 'check')).toHaveLength(2);
  });

  it('joins a running automatic check', async () => {
    let finish: () => void = () => undefined;
    updater.checkImpl = () =>
      new Promise((resolve) => {
        finish = () => resolve({ updateAvailable: false, currentVersion: '2.0.0', latestVersion: '2.0.0', update: null });
      });
    checks.scheduler.start();
    await vi.advanceTimersByTimeAsync(10_000);

    menu.clickCheck();
    menu.clickCheck();
    finish();
    await vi.advanceTimersByTimeAsync(0);

    expect(updater.calls.filter((call) => call === 'check')).toHaveLength(1);
  });

  it('notifies once per version found in the background', async () => {
    checks.scheduler.start();
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.advanceTimersByTimeAsync(3 * 60 * 60_000);

    expect(updater.calls.filter((call) => call === 'check')).toHaveLength(4);
    expect(notifications).toEqual([
      { title: 'Backend update available', body: 'Backend 2.1.0 is available. Open the app to download and install it.' },
    ]);

    updater.checkImpl = async () => {
      const update = updateInfo({ version: '2.2.0' });
      updater.emit({ type: 'available', update });
      return { updateAvailable: true, currentVersion: '2.0.0', latestVersion: '2.2.0', update };
    };
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(notifications.map((notification) => notification.body)).toEqual([
      'Backend 2.1.0 is available. Open the app to download and install it.',
      'Backend 2.2.0 is available. Open the app to download and install it.',
    ]);
  });

  it('reports a failed menu check', async () => {
    updater.checkImpl = () => Promise.reject(new UpdateError('NETWORK', 'Could not reach feed.example: ENOTFOUND.'));

    await checks.checkFromMenu();

    expect(messages).toEqual([
      { type: 'error', message: 'Checking for updates failed', detail: 'Could not reach feed.example: ENOTFOUND. (NETWORK)' },
    ]);
  });
});

describe('scheduleSettingsFromEnv', () => {
  it('reads interval, delay and off switch', () => {
    expect(
      scheduleSettingsFromEnv({
        BACKEND_UPDATER_AUTO_CHECK: 'off',
        BACKEND_UPDATER_CHECK_INTERVAL_MINUTES: '60',
        BACKEND_UPDATER_FIRST_CHECK_DELAY_SECONDS: '30',
      }),
    ).toEqual({ enabled: false, intervalMs: 3_600_000, initialDelayMs: 30_000 });
  });

  it('keeps defaults when unset', () => {
    expect(scheduleSettingsFromEnv({})).toEqual({});
  });

  it('rejects a value that is not a number', () => {
    expect(() => scheduleSettingsFromEnv({ BACKEND_UPDATER_CHECK_INTERVAL_MINUTES: 'hourly' })).toThrow(
      'BACKEND_UPDATER_CHECK_INTERVAL_MINUTES="hourly" is not a positive number',
    );
  });
});
