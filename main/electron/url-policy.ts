import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Location of the app's own page. */
export interface AppPageLocation {
  /** Absolute path of the built renderer's index.html, loaded with a file:// URL. */
  rendererFile: string;
  /** Origin of the Vite dev server during development, such as `http://localhost:5173`. */
  devServerUrl?: string | null;
}

/** The frame that sent an IPC message; Electron's WebFrameMain satisfies it. */
export interface SenderFrame {
  readonly url: string;
  readonly parent: unknown;
}

/** Decides which URLs belong to the app, which may open outside it, and which frames may call IPC. */
export interface UrlPolicy {
  /** True for the app's own page: its index.html file or the dev server origin. */
  isAppUrl(url: string): boolean;
  /** True for URLs that may be handed to the system browser or mail client. */
  isExternalUrlAllowed(url: string): boolean;
  /** True for the top frame of a window that shows the app's own page. */
  isTrustedSender(frame: SenderFrame | null): boolean;
}

/** Schemes that `shell.openExternal` may receive; anything else could start a local program. */
const EXTERNAL_PROTOCOLS = new Set(['https:', 'mailto:']);

function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** True when a file:// URL names the renderer's own file; another local page gets no bridge. */
function isRendererFile(url: URL, rendererFile: string): boolean {
  try {
    return path.resolve(fileURLToPath(url)) === rendererFile;
  } catch {
    // fileURLToPath rejects file URLs with a remote host.
    return false;
  }
}

/** Creates the URL policy for the app page at `location`. */
export function createUrlPolicy(location: AppPageLocation): UrlPolicy {
  const rendererFile = path.resolve(location.rendererFile);
  const devOrigin = location.devServerUrl ? parseUrl(location.devServerUrl)?.origin ?? null : null;

  const isAppUrl = (url: string): boolean => {
    const parsed = parseUrl(url);
    if (!parsed) return false;
    if (parsed.protocol === 'file:') return isRendererFile(parsed, rendererFile);
    return devOrigin !== null && parsed.origin === devOrigin;
  };

  return {
    isAppUrl,
    isExternalUrlAllowed: (url) => {
      const parsed = parseUrl(url);
      return parsed !== null && EXTERNAL_PROTOCOLS.has(parsed.protocol);
    },
    isTrustedSender: (frame) => frame !== null && frame.parent === null && isAppUrl(frame.url),
  };
}
