/**
 * Preload script: exposes `window.backendUpdates` and nothing else. The page
 * never gets `ipcRenderer`. It gets one function per command and `onState`.
 * Built as CommonJS because sandboxed preloads cannot be ES modules.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { UpdateState } from '../main/updater/state';
import {
  UPDATE_CHANNELS,
  type BackendUpdatesApi,
  type BridgeResult,
  type UpdateCommand,
  type UpdateCommandResults,
  type UpdateStateListener,
} from './api';

/** The part of ipcRenderer that the preload uses. */
export type PreloadIpc = Pick<typeof ipcRenderer, 'invoke' | 'on' | 'removeListener'>;

/**
 * Builds the API object for one page. One ipcRenderer listener on the state
 * channel fans out to the page's listeners, and exists only while the page
 * has at least one. Each `onState` returns its own unsubscribe closure,
 * because contextBridge passes a page callback in as a new proxy on every
 * call, so `removeListener(channel, callback)` from the page could never
 * match the function registered earlier.
 */
export function createBackendUpdatesApi(ipc: PreloadIpc): BackendUpdatesApi {
  const listeners = new Set<UpdateStateListener>();

  const forwardState = (_event: IpcRendererEvent, state: UpdateState): void => {
    for (const listener of [...listeners]) {
      try {
        listener(state);
      } catch (error) {
        console.error('backendUpdates: a state listener threw', error);
      }
    }
  };

  const onState = (listener: UpdateStateListener): (() => void) => {
    if (typeof listener !== 'function') {
      throw new TypeError('backendUpdates.onState expects a function.');
    }
    // A wrapper per subscription keeps two subscriptions of the same callback apart.
    const entry: UpdateStateListener = (state) => listener(state);
    listeners.add(entry);
    if (listeners.size === 1) ipc.on(UPDATE_CHANNELS.state, forwardState);

    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      listeners.delete(entry);
      if (listeners.size === 0) ipc.removeListener(UPDATE_CHANNELS.state, forwardState);
    };
  };

  // Commands take no arguments, so none from the page is forwarded.
  const command =
    <C extends UpdateCommand>(name: C) =>
    (): Promise<BridgeResult<UpdateCommandResults[C]>> =>
      ipc.invoke(UPDATE_CHANNELS[name]);

  return {
    getVersion: command('getVersion'),
    check: command('check'),
    download: command('download'),
    install: command('install'),
    cancel: command('cancel'),
    getState: command('getState'),
    onState,
  };
}

contextBridge.exposeInMainWorld('backendUpdates', createBackendUpdatesApi(ipcRenderer));
