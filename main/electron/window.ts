import type { BrowserWindow, BrowserWindowConstructorOptions, WebContents } from 'electron';
import type { Logger } from '../logger';
import type { UrlPolicy } from './url-policy';

export interface NavigationGuardDeps {
  policy: UrlPolicy;
  /** Opens a URL in the system browser or mail client (`shell.openExternal`). */
  openExternal(url: string): Promise<void>;
  logger: Logger;
}

/** The part of WebContents that the navigation guard uses. */
export type GuardedContents = Pick<WebContents, 'setWindowOpenHandler' | 'on'>;

/**
 * Keeps a web contents on the app's own page. Every new-window request
 * (`target=_blank`, middle-click, Ctrl+click, `window.open`) is denied, and
 * allowed https: and mailto: URLs go to the system instead. Navigation and
 * redirects to any other URL are prevented, in case a link slips past the
 * renderer's own link handling. Webviews are never attached.
 */
export function guardWebContents(contents: GuardedContents, deps: NavigationGuardDeps): void {
  const { policy, logger } = deps;

  contents.setWindowOpenHandler(({ url }) => {
    if (policy.isExternalUrlAllowed(url)) {
      deps.openExternal(url).catch((error: unknown) => {
        logger.warn(`opening ${url} in the system failed: ${(error as Error).message}`);
      });
    } else {
      logger.warn(`blocked a new window for ${url}: only https: and mailto: links open outside the app`);
    }
    return { action: 'deny' };
  });

  const preventForeign = (event: { preventDefault(): void }, url: string, kind: string): void => {
    if (policy.isAppUrl(url)) return;
    event.preventDefault();
    logger.warn(`blocked ${kind} to ${url}`);
  };
  contents.on('will-navigate', (event, url) => preventForeign(event, event.url ?? url, 'navigation'));
  contents.on('will-redirect', (event, url) => preventForeign(event, event.url ?? url, 'redirect'));
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    logger.warn('blocked a webview');
  });
}

/** Returns the window options: isolated, sandboxed, no Node in the page, web security on. */
export function mainWindowOptions(input: { preloadPath: string; iconPath?: string }): BrowserWindowConstructorOptions {
  return {
    width: 960,
    height: 720,
    minWidth: 480,
    minHeight: 400,
    show: false,
    title: 'Backend Updater',
    icon: input.iconPath,
    webPreferences: {
      preload: input.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    },
  };
}

/** Loads the dev server page when one is configured, else the built index.html. */
export async function loadAppPage(
  window: Pick<BrowserWindow, 'loadURL' | 'loadFile'>,
  page: { rendererFile: string; devServerUrl?: string | null },
): Promise<void> {
  if (page.devServerUrl) await window.loadURL(page.devServerUrl);
  else await window.loadFile(page.rendererFile);
}
