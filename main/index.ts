/**
 * Electron entry: app lifecycle, the main window, the update IPC, automatic
 * checks, the application menu and the backend process. Built to
 * dist-electron/main/index.js by scripts/build-electron.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, Notification, powerMonitor, shell } from 'electron';
import { loadConfig } from './config';
import { createMainLogger, setUpMainLogging } from './electron/logging';
import { createUpdateNotifier } from './electron/notifier';
import { deferQuitUntilStopped } from './electron/quit-guard';
import { mirrorProgressToTaskbar } from './electron/taskbar-progress';
import { scheduleSettingsFromEnv, setUpUpdateChecks } from './electron/update-checks';
import { createUrlPolicy } from './electron/url-policy';
import { guardWebContents, loadAppPage, mainWindowOptions } from './electron/window';
import { registerUpdateIpc } from './ipc';
import type { Logger } from './logger';
import { toErrorData } from './updater/errors';
import { BackendUpdater } from './updater/updater';

// This file runs from dist-electron/main/, two levels below the project root.
const appRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const page = {
  rendererFile: path.join(appRoot, 'dist/renderer/index.html'),
  devServerUrl: process.env.BACKEND_UPDATER_DEV_SERVER_URL ?? null,
};
const preloadPath = path.join(appRoot, 'dist-electron/preload/index.cjs');
const iconPath = path.join(appRoot, 'public/icon.png');
/** Maximum time that quitting waits for the backend to stop. */
const QUIT_DEADLINE_MS = 15_000;

const policy = createUrlPolicy(page);
let mainWindow: BrowserWindow | null = null;

/** Builds the updater for this app. BackendUpdater's options are set here and nowhere else. */
async function createUpdater(logger: Logger): Promise<{ updater: BackendUpdater; release(): Promise<void> }> {
  const home = process.env.BACKEND_UPDATER_HOME ?? path.join(app.getPath('userData'), 'backend-updater');
  const config = await loadConfig(home);
  const updater = new BackendUpdater({ config, logger, keepBackendRunning: true });
  // The data-folder lock keeps the CLI from installing while the app runs.
  const release = await updater.store.lock();
  await updater.init();
  return { updater, release };
}

async function openMainWindow(logger: Logger): Promise<void> {
  const window = new BrowserWindow(mainWindowOptions({ preloadPath, iconPath }));
  mainWindow = window;
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = null;
  });
  await loadAppPage(window, page).catch((error: unknown) => {
    logger.error(`loading the app page failed: ${(error as Error).message}`);
  });
}

function focusMainWindow(logger: Logger): void {
  if (!mainWindow || mainWindow.isDestroyed()) {
    void openMainWindow(logger);
    return;
  }
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.show();
  mainWindow.focus();
}

async function startApp(logger: Logger): Promise<void> {
  const { updater, release } = await createUpdater(logger);
  const ipc = registerUpdateIpc({
    ipcMain,
    updater,
    isTrustedSender: policy.isTrustedSender,
    getWindows: () => BrowserWindow.getAllWindows(),
    logger: createMainLogger('ipc'),
  });
  const stopTaskbar = mirrorProgressToTaskbar({ updater, getWindows: () => BrowserWindow.getAllWindows() });
  const notifier = createUpdateNotifier({
    isSupported: () => Notification.isSupported(),
    create: (options) => new Notification(options),
    onClick: () => focusMainWindow(logger),
    logger,
  });
  const checks = setUpUpdateChecks({
    updater,
    Menu,
    appName: app.getName(),
    platform: process.platform,
    notifier,
    powerMonitor,
    showMessage: (options) => dialog.showMessageBox({ ...options, buttons: ['OK'] }),
    focusMainWindow: () => focusMainWindow(logger),
    schedule: scheduleSettingsFromEnv(process.env),
    logger: createMainLogger('checks'),
  });

  deferQuitUntilStopped({
    app,
    deadlineMs: QUIT_DEADLINE_MS,
    logger,
    stop: async () => {
      checks.dispose();
      stopTaskbar();
      ipc.dispose();
      try {
        await updater.stopBackend();
      } finally {
        await release();
      }
    },
  });

  await openMainWindow(logger);
  // The window shows the backend as stopped until it is healthy; start-up does not block it.
  updater.startBackend().then(
    (health) => logger.info(`backend started: ${health?.version ?? 'nothing installed'}`),
    (error: unknown) => logger.error(`backend start failed: ${toErrorData(error).message}`),
  );
  checks.scheduler.start();
}

function main(): void {
  setUpMainLogging(app.getPath('logs'));
  const logger = createMainLogger('app');
  if (!app.requestSingleInstanceLock()) {
    logger.info('another instance is running; handing over to it');
    app.quit();
    return;
  }

  app.on('second-instance', () => focusMainWindow(logger));
  app.on('web-contents-created', (_event, contents) => {
    guardWebContents(contents, { policy, openExternal: (url) => shell.openExternal(url), logger });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void openMainWindow(logger);
  });

  app
    .whenReady()
    .then(() => startApp(logger))
    .catch((error: unknown) => {
      const data = toErrorData(error);
      logger.error(`start-up failed: ${data.code}: ${data.message}`);
      dialog.showErrorBox('Backend Updater could not start', `${data.message} (${data.code})`);
      app.exit(1);
    });
}

main();
