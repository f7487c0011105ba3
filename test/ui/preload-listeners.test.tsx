// @vitest-environment jsdom
import type { EventEmitter } from 'node:events';
import { act, screen, waitFor, within } from '@testing-library/react';
import type { UpdateState } from '../../main/updater/state';
import { UPDATE_CHANNELS, UPDATE_COMMANDS, type BackendUpdatesApi } from '../../preload/api';
import { renderApp, updateInfo } from './render';

interface FakeIpcRenderer extends EventEmitter {
  invoke: ReturnType<typeof vi.fn>;
  sendSync: ReturnType<typeof vi.fn>;
}

/**
 * Copies a value across a fake context bridge. As in Electron, every function
 * that crosses becomes a new proxy on every crossing, so the preload never
 * receives the page's own function object twice.
 */
function crossBridge(value: unknown): unknown {
  if (typeof value === 'function') {
    return (...args: unknown[]) => crossBridge((value as (...a: unknown[]) => unknown)(...args.map(crossBridge)));
  }
  if (value instanceof Promise) return value.then(crossBridge);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, crossBridge(entry)]));
  }
  return value;
}

vi.mock('electron', async () => {
  const { EventEmitter } = await vi.importActual<typeof import('node:events')>('node:events');
  const { updateInfo: info } = await import('../main/fakes');
  const state: UpdateState = { type: 'available', seq: 3, update: info() };
  const ipcRenderer = Object.assign(new EventEmitter(), {
    invoke: vi.fn(async (channel: string) => {
      if (channel === 'backend-updates:get-state') return { ok: true, value: state };
      if (channel === 'backend-updates:get-version') {
        return { ok: true, value: { currentVersion: '2.0.0', previousVersion: null, backend: { running: true, healthy: true, pid: 1, port: 8765, version: '2.0.0' } } };
      }
      return { ok: false, error: { code: 'INVALID_STATE', message: `not scripted: ${channel}`, retryable: false } };
    }),
    sendSync: vi.fn(),
  });
  const mainWorld: Record<string, unknown> = {};
  return {
    ipcRenderer,
    contextBridge: {
      exposeInMainWorld: (key: string, api: unknown) => {
        mainWorld[key] = crossBridge(api);
      },
    },
    mainWorld,
  };
});

async function loadPreload(): Promise<{ api: BackendUpdatesApi; ipcRenderer: FakeIpcRenderer }> {
  const electron = (await import('electron')) as unknown as { ipcRenderer: FakeIpcRenderer; mainWorld: Record<string, unknown> };
  await import('../../preload/index');
  return { api: electron.mainWorld.backendUpdates as BackendUpdatesApi, ipcRenderer: electron.ipcRenderer };
}

describe('preload bridge', () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);

  beforeEach(() => {
    warnings.length = 0;
    process.on('warning', onWarning);
  });

  afterEach(() => {
    process.off('warning', onWarning);
  });

  it('exposes only the update commands', async () => {
    const { api, ipcRenderer } = await loadPreload();

    expect(Object.keys(api).sort()).toEqual([...UPDATE_COMMANDS, 'onState'].sort());
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
    expect(api).not.toHaveProperty('removeListener');
    expect(api).not.toHaveProperty('off');

    await expect(api.getState()).resolves.toMatchObject({ ok: true, value: { type: 'available' } });
    expect(ipcRenderer.invoke).toHaveBeenCalledWith(UPDATE_CHANNELS.getState);
    expect(ipcRenderer.sendSync).not.toHaveBeenCalled();
  });

  it('does not forward page arguments', async () => {
    const { api, ipcRenderer } = await loadPreload();
    ipcRenderer.invoke.mockClear();

    await (api.install as (...args: unknown[]) => Promise<unknown>)('../../evil', { force: true });

    expect(ipcRenderer.invoke).toHaveBeenCalledWith(UPDATE_CHANNELS.install);
  });

  it('keeps one listener across remounts', async () => {
    const { api, ipcRenderer } = await loadPreload();
    const received: UpdateState[] = [];
    const countingApi: BackendUpdatesApi = {
      ...api,
      onState: (listener) => api.onState((state) => {
        received.push(state);
        listener(state);
      }),
    };

    for (let mount = 0; mount < 20; mount += 1) {
      const view = renderApp({ api: countingApi });
      expect(ipcRenderer.listenerCount(UPDATE_CHANNELS.state)).toBe(1);
      view.unmount();
      expect(ipcRenderer.listenerCount(UPDATE_CHANNELS.state)).toBe(0);
    }
    renderApp({ api: countingApi });
    await waitFor(() => expect(screen.getByText('Backend 2.1.0 is available')).toBeInTheDocument());
    expect(ipcRenderer.listenerCount(UPDATE_CHANNELS.state)).toBe(1);

    const next: UpdateState = { type: 'available', seq: 9, update: updateInfo({ version: '2.2.0' }) };
    act(() => {
      ipcRenderer.emit(UPDATE_CHANNELS.state, {}, next);
    });

    expect(received).toEqual([next]);
    const region = screen.getByRole('region', { name: /notifications/i });
    await waitFor(() => expect(within(region).getAllByRole('listitem')).toHaveLength(1));
    expect(within(region).getByText('Backend 2.2.0 is available')).toBeInTheDocument();
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('ignores a second unsubscribe call', async () => {
    const { api, ipcRenderer } = await loadPreload();
    const first = api.onState(() => undefined);
    const second = api.onState(() => undefined);

    first();
    first();
    expect(ipcRenderer.listenerCount(UPDATE_CHANNELS.state)).toBe(1);
    second();
    expect(ipcRenderer.listenerCount(UPDATE_CHANNELS.state)).toBe(0);
  });

  it('keeps delivering after a listener throws', async () => {
    const { api, ipcRenderer } = await loadPreload();
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const received: number[] = [];
    const offBroken = api.onState(() => {
      throw new Error('listener bug');
    });
    const offWorking = api.onState((state) => received.push(state.seq));

    ipcRenderer.emit(UPDATE_CHANNELS.state, {}, { type: 'idle', seq: 4, currentVersion: '2.0.0' });

    expect(received).toEqual([4]);
    expect(consoleError).toHaveBeenCalled();
    offBroken();
    offWorking();
    consoleError.mockRestore();
  });
});
