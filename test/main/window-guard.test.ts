import { EventEmitter } from 'node:events';
import { createUrlPolicy } from '../../main/electron/url-policy';
import { guardWebContents, mainWindowOptions, type GuardedContents } from '../../main/electron/window';
import { silentLogger } from '../../main/logger';
import { DEV_SERVER_URL, RENDERER_FILE } from './fakes';

type OpenHandler = (details: { url: string }) => { action: string };

/** WebContents stand-in: stores the window-open handler and emits navigation events. */
class FakeContents extends EventEmitter {
  openHandler: OpenHandler | null = null;

  setWindowOpenHandler(handler: OpenHandler): void {
    this.openHandler = handler;
  }

  /** Emits a navigation event and returns whether it was prevented. */
  navigate(event: 'will-navigate' | 'will-redirect', url: string): boolean {
    let prevented = false;
    this.emit(event, { url, preventDefault: () => (prevented = true) }, url);
    return prevented;
  }
}

const NOTE_LINKS = [
  'https://github.com/o/r/pull/1',
  '/docs',
  'mailto:a@b.c',
  'javascript:alert(1)',
  'file:///etc/passwd',
];

describe('guardWebContents', () => {
  let contents: FakeContents;
  let opened: string[];

  beforeEach(() => {
    contents = new FakeContents();
    opened = [];
    guardWebContents(contents as unknown as GuardedContents, {
      policy: createUrlPolicy({ rendererFile: RENDERER_FILE, devServerUrl: DEV_SERVER_URL }),
      openExternal: async (url) => {
        opened.push(url);
      },
      logger: silentLogger,
    });
  });

  it('denies every new window', () => {
    for (const url of [...NOTE_LINKS, 'http://example.com/', 'about:blank']) {
      expect(contents.openHandler?.({ url })).toEqual({ action: 'deny' });
    }
  });

  it('opens only https and mailto outside', () => {
    // A left click, a middle click and a Ctrl+click on the first link each request a new window.
    for (let click = 0; click < 3; click += 1) contents.openHandler?.({ url: NOTE_LINKS[0]! });
    for (const url of NOTE_LINKS.slice(1)) contents.openHandler?.({ url });
    contents.openHandler?.({ url: 'http://example.com/plain' });

    expect(opened).toEqual([NOTE_LINKS[0], NOTE_LINKS[0], NOTE_LINKS[0], 'mailto:a@b.c']);
  });

  it.each([
    ['https://github.com/o/r/pull/1', true],
    ['file:///etc/passwd', true],
    ['file:///opt/backend-updater/dist/other.html', true],
    ['http://localhost:5174/', true],
    [`file://${RENDERER_FILE}`, false],
    [`file://${RENDERER_FILE}#/updates`, false],
    [`${DEV_SERVER_URL}/settings`, false],
  ])('prevents navigation to %s: %s', (url, prevented) => {
    expect(contents.navigate('will-navigate', url)).toBe(prevented);
    expect(contents.navigate('will-redirect', url)).toBe(prevented);
  });

  it('blocks webviews', () => {
    let prevented = false;
    contents.emit('will-attach-webview', { preventDefault: () => (prevented = true) });

    expect(prevented).toBe(true);
  });
});

describe('mainWindowOptions', () => {
  it('isolates and sandboxes the page', () => {
    const options = mainWindowOptions({ preloadPath: '/app/dist-electron/preload/index.cjs' });

    expect(options.webPreferences).toMatchObject({
      preload: '/app/dist-electron/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    });
  });
});

describe('createUrlPolicy', () => {
  const policy = createUrlPolicy({ rendererFile: RENDERER_FILE });

  it('trusts only the top frame of the app page', () => {
    expect(policy.isTrustedSender({ url: `file://${RENDERER_FILE}`, parent: null })).toBe(true);
    expect(policy.isTrustedSender({ url: `file://${RENDERER_FILE}`, parent: {} })).toBe(false);
    expect(policy.isTrustedSender({ url: DEV_SERVER_URL, parent: null })).toBe(false);
    expect(policy.isTrustedSender({ url: 'file://remote-host/share/index.html', parent: null })).toBe(false);
    expect(policy.isTrustedSender(null)).toBe(false);
  });
});
