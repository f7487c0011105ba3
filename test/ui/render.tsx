import '@testing-library/jest-dom/vitest';
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { act, render, type RenderResult } from '@testing-library/react';
import { StrictMode, type ReactNode } from 'react';
import type { StateStorage } from 'zustand/middleware';
import type { UpdateErrorData } from '../../main/updater/errors';
import type { CheckResult, DownloadResultInfo, InstallResultInfo, VersionInfo } from '../../main/updater/service';
import type { UpdateInfo, UpdateState, UpdateStateInput } from '../../main/updater/state';
import type { BackendUpdatesApi, BridgeResult, UpdateCommand, UpdateCommandResults } from '../../preload/api';
import { App } from '../../src/App';
import { UpdatesProvider } from '../../src/updates/context';
import { createUpdatesQueryClient } from '../../src/updates/queries';
import { TRUSTED_KEY_ID, unsignedSignature, updateInfo, verifiedSignature, versionInfo } from '../main/fakes';

export { TRUSTED_KEY_ID, unsignedSignature, updateInfo, verifiedSignature, versionInfo };

// jsdom has no pointer capture; Radix Toast calls it on pointer up.
for (const name of ['hasPointerCapture', 'setPointerCapture', 'releasePointerCapture'] as const) {
  if (!(name in Element.prototype)) {
    Object.defineProperty(Element.prototype, name, { value: () => false, configurable: true });
  }
}

type CommandHandler<C extends UpdateCommand> = () => Promise<BridgeResult<UpdateCommandResults[C]>>;

/**
 * A stand-in for `window.backendUpdates`: counts calls, responds with
 * configurable envelopes and lets a test push states.
 */
export class StubBridge {
  state: UpdateState = { type: 'idle', seq: 1, currentVersion: '2.0.0' };
  readonly calls: Record<UpdateCommand, number> = { getVersion: 0, check: 0, download: 0, install: 0, cancel: 0, getState: 0 };
  private readonly listeners = new Set<(state: UpdateState) => void>();
  handlers: { [C in UpdateCommand]: CommandHandler<C> } = {
    getVersion: async () => ok<VersionInfo>(versionInfo()),
    check: async () => ok<CheckResult>({ updateAvailable: false, currentVersion: '2.0.0', latestVersion: '2.0.0', update: null }),
    download: () => new Promise(() => undefined),
    install: () => new Promise(() => undefined),
    cancel: async () => ok(true),
    getState: async () => ok(this.state),
  };

  readonly api: BackendUpdatesApi = {
    getVersion: () => this.call('getVersion'),
    check: () => this.call('check'),
    download: () => this.call('download'),
    install: () => this.call('install'),
    cancel: () => this.call('cancel'),
    getState: () => this.call('getState'),
    onState: (listener) => {
      const entry = (state: UpdateState) => listener(state);
      this.listeners.add(entry);
      return () => this.listeners.delete(entry);
    },
  };

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Pushes a state with the next `seq`, as the main process would. */
  emit(next: UpdateStateInput): UpdateState {
    return this.push({ ...next, seq: this.state.seq + 1 } as UpdateState);
  }

  /** Pushes a state exactly as given, `seq` included. */
  push(state: UpdateState): UpdateState {
    if (state.seq > this.state.seq) this.state = state;
    act(() => {
      for (const listener of [...this.listeners]) listener(state);
    });
    return state;
  }

  private call<C extends UpdateCommand>(command: C): Promise<BridgeResult<UpdateCommandResults[C]>> {
    this.calls[command] += 1;
    return (this.handlers[command] as CommandHandler<C>)();
  }
}

export function ok<T>(value: T): BridgeResult<T> {
  return { ok: true, value };
}

export function failure(error: Partial<UpdateErrorData> & Pick<UpdateErrorData, 'code'>): BridgeResult<never> {
  return { ok: false, error: { message: `${error.code} happened`, retryable: false, ...error } };
}

export function downloadResult(): DownloadResultInfo {
  return { version: '2.1.0', sha256: 'ab'.repeat(32), size: 1_048_576 };
}

export function installResult(): InstallResultInfo {
  return { version: '2.1.0', previousVersion: '2.0.0', health: { status: 'ok' } };
}

/** Returns a check result that offers `update`. */
export function updateFound(update: UpdateInfo = updateInfo()): CheckResult {
  return { updateAvailable: true, currentVersion: update.currentVersion, latestVersion: update.version, update };
}

/** Builds a downloading state input for `emit`. */
export function downloading(percent: number | null, overrides: Partial<Extract<UpdateStateInput, { type: 'downloading' }>> = {}): UpdateStateInput {
  const total = percent === null ? null : 1_048_576;
  return {
    type: 'downloading',
    update: updateInfo(),
    downloadId: 'd1',
    transferred: percent === null ? 300_000 : Math.round((1_048_576 * percent) / 100),
    total,
    bytesPerSecond: 102_400,
    percent,
    ...overrides,
  };
}

/** StateStorage in memory, so that closed-toast times survive a remount within one test. */
export function createMemoryStorage(): StateStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
    removeItem: (key) => void data.delete(key),
  };
}

export interface RenderAppOptions {
  bridge?: StubBridge;
  /** Used instead of the stub bridge's API, for example the preload's exposed object. */
  api?: BackendUpdatesApi;
  strict?: boolean;
  now?: () => number;
  storage?: StateStorage;
  openWindow?: Window['open'];
  checkIntervalMs?: number;
  queryClient?: QueryClient;
  children?: ReactNode;
}

/** Renders the app, or `children`, with the real providers around a stub bridge. */
export function renderApp(options: RenderAppOptions = {}): RenderResult & { bridge: StubBridge; queryClient: QueryClient } {
  const bridge = options.bridge ?? new StubBridge();
  const queryClient = options.queryClient ?? createUpdatesQueryClient();
  const tree = (
    <QueryClientProvider client={queryClient}>
      <UpdatesProvider
        api={options.api ?? bridge.api}
        now={options.now}
        storage={options.storage ?? createMemoryStorage()}
        openWindow={options.openWindow ?? (() => null)}
        checkIntervalMs={options.checkIntervalMs}
      >
        {options.children ?? <App />}
      </UpdatesProvider>
    </QueryClientProvider>
  );
  const result = render(options.strict === false ? tree : <StrictMode>{tree}</StrictMode>);
  return { ...result, bridge, queryClient };
}
