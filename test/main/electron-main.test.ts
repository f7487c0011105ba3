import { EventEmitter } from 'node:events';
import type { MenuItemConstructorOptions } from 'electron';
import { UPDATE_CHANNELS, UPDATE_COMMANDS } from '../../preload/api';
import { FakeIpcMain, type FakeUpdater } from './fakes';

/** State shared between the faked modules and the tests. */
const world = vi.hoisted(() => ({
  singleInstance: true,
  updaters: [] as Array<FakeUpdater & { startBackend: ReturnType<typeof vi.fn>; stopBackend: ReturnType<typeof vi.fn> }>,
  opened: [] as string[],
}));

/** Builds a fresh faked `electron` module, so that each test starts its own main process. */
function createFakeElectron() {
  class FakeApp extends EventEmitter {
    quitCalls = 0;
    quitPrevented = false;
    getPath = (name: string) => `/tmp/backend-updater-test/${name}`;
    getName = () => 'Backend Updater';
    requestSingleInstanceLock = () => world.singleInstance;
    whenReady = () => Promise.resolve();
    exit = vi.fn();
    quit(): void {
      this.quitCalls += 1;
      this.emit('before-quit', { preventDefault: () => (this.quitPrevented = true) });
    }
  }

  const windows: FakeBrowserWindow[] = [];
  class FakeBrowserWindow extends EventEmitter {
    static all = windows;
    static getAllWindows = () => windows.filter((window) => !window.destroyed);
    destroyed = false;
    loaded: string[] = [];
    webContents = { send: vi.fn(), isDestroyed: () => this.destroyed };
    constructor(readonly options: Record<string, any>) {
      super();
      windows.push(this);
    }
    loadFile = async (file: string) => void this.loaded.push(file);
    loadURL = async (url: string) => void this.loaded.push(url);
    isDestroyed = () => this.destroyed;
    isMinimized = () => false;
    setProgressBar = vi.fn();
    show = vi.fn();
    focus = vi.fn();
    restore = vi.fn();
  }

  const menu = { current: null as { template: MenuItemConstructorOptions[] } | null };
  return {
    app: new FakeApp(),
    BrowserWindow: FakeBrowserWindow,
    ipcMain: new FakeIpcMain(),
    Menu: {
      buildFromTemplate: (template: MenuItemConstructorOptions[]) => ({ template }),
      setApplicationMenu: (built: { template: MenuItemConstructorOptions[] }) => (menu.current = built),
    },
    menu,
    Notification: Object.assign(class { on() {} show() {} }, { isSupported: () => false }),
    powerMonitor: new EventEmitter(),
    shell: { openExternal: vi.fn(async (url: string) => void world.opened.push(url)) },
    dialog: { showMessageBox: vi.fn(async () => ({ response: 0 })), showErrorBox: vi.fn() },
  };
}

vi.mock('../../main/electron/logging', async () => {
  const { silentLogger } = await import('../../main/logger');
  return { setUpMainLogging: vi.fn(), createMainLogger: () => silentLogger };
});

vi.mock('../../main/config', () => ({ loadConfig: vi.fn(async (home: string) => ({ home })) }));

vi.mock('../../main/updater/updater', async () => {
  const { FakeUpdater: Base } = await import('./fakes');
  class BackendUpdater extends Base {
    store = { lock: async () => async () => undefined };
    init = vi.fn(async () => ({ action: 'none' }));
    startBackend = vi.fn(async () => ({ version: '2.0.0' }));
    stopBackend = vi.fn(async () => undefined);
    constructor() {
      super();
      world.updaters.push(this as never);
    }
  }
  return { BackendUpdater };
});

async function startMainProcess() {
  vi.resetModules();
  const electron = createFakeElectron();
  vi.doMock('electron', () => electron);
  await import('../../main/index');
  await vi.waitFor(() => expect(electron.BrowserWindow.all.length).toBe(1));
  return electron;
}

describe('Electron main entry', () => {
  let running: ReturnType<typeof createFakeElectron> | null = null;

  beforeAll(() => {
    // Automatic checks would leave real timers behind.
    process.env.BACKEND_UPDATER_AUTO_CHECK = '0';
  });

  afterAll(() => {
    delete process.env.BACKEND_UPDATER_AUTO_CHECK;
  });

  beforeEach(() => {
    world.singleInstance = true;
    world.updaters.length = 0;
    world.opened.length = 0;
  });

  afterEach(async () => {
    const app = running?.app;
    running = null;
    if (!app) return;
    app.quit();
    await vi.waitFor(() => expect(app.quitCalls).toBeGreaterThanOrEqual(2));
  });

  async function startMain() {
    running = await startMainProcess();
    return running;
  }

  it('opens an isolated, sandboxed window', async () => {
    const electron = await startMain();
    const window = electron.BrowserWindow.all[0]!;

    expect(window.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(window.options.webPreferences?.preload).toMatch(/dist-electron[\\/]preload[\\/]index\.cjs$/);
    expect(window.loaded.at(-1)).toMatch(/dist[\\/]renderer[\\/]index\.html$/);
    expect(world.updaters.at(-1)?.startBackend).toHaveBeenCalled();
  });

  it('registers every update channel', async () => {
    const electron = await startMain();

    for (const command of UPDATE_COMMANDS) expect(electron.ipcMain.handlers.has(UPDATE_CHANNELS[command])).toBe(true);
  });

  it('checks from the menu item', async () => {
    const electron = await startMain();
    const findCheck = (items: MenuItemConstructorOptions[]): MenuItemConstructorOptions | undefined =>
      items.flatMap((item) => [item, ...(Array.isArray(item.submenu) ? (item.submenu as MenuItemConstructorOptions[]) : [])]).find((item) => item.id === 'check-for-updates');
    const item = findCheck(electron.menu.current!.template);

    (item?.click as () => void)();
    await vi.waitFor(() => expect(world.updaters.at(-1)?.calls).toContain('check'));
  });

  it('guards new web contents', async () => {
    const electron = await startMain();
    const contents = Object.assign(new EventEmitter(), {
      handler: null as null | ((details: { url: string }) => { action: string }),
      setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
        this.handler = handler;
      },
    });

    electron.app.emit('web-contents-created', {}, contents);

    expect(contents.handler?.({ url: 'https://github.com/o/r/pull/1' })).toEqual({ action: 'deny' });
    expect(contents.handler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(world.opened).toEqual(['https://github.com/o/r/pull/1']);
  });

  it('stops the backend before quitting', async () => {
    const electron = await startMain();
    const updater = world.updaters.at(-1)!;

    electron.app.quit();
    expect(electron.app.quitPrevented).toBe(true);
    await vi.waitFor(() => expect(updater.stopBackend).toHaveBeenCalled());
    await vi.waitFor(() => expect(electron.app.quitCalls).toBe(2));
  });
});

describe('Electron main entry, second instance', () => {
  it('quits without a window', async () => {
    world.singleInstance = false;
    vi.resetModules();
    const electron = createFakeElectron();
    vi.doMock('electron', () => electron);

    await import('../../main/index');
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(electron.app.quitCalls).toBe(1);
    expect(electron.BrowserWindow.all).toHaveLength(0);
  });
});
