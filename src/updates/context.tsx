import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { StateStorage } from 'zustand/middleware';
import { useStore, type StoreApi } from 'zustand';
import type { UpdateState } from '../../main/updater/state';
import type { BackendUpdatesApi } from '../../preload/api';
import { createUpdatesClient, type UpdatesClient } from './client';
import { createNoticeStore, type NoticeStore } from './notices';
import { VERSION_QUERY_KEY } from './query-keys';
import { createUpdateStore, type UpdateStore } from './store';

/** Interval of the main process's automatic checks, which the version query's staleTime matches. */
export const DEFAULT_CHECK_INTERVAL_MS = 4 * 60 * 60_000;

interface UpdatesContextValue {
  client: UpdatesClient;
  updates: StoreApi<UpdateStore>;
  notices: StoreApi<NoticeStore>;
  checkIntervalMs: number;
}

const UpdatesContext = createContext<UpdatesContextValue | null>(null);

export interface UpdatesProviderProps {
  api: BackendUpdatesApi;
  checkIntervalMs?: number;
  now?: () => number;
  /** Storage of closed-toast times; `localStorage` by default. */
  storage?: StateStorage;
  /** Replaces `window.open` for links in release notes. */
  openWindow?: Window['open'];
  children: ReactNode;
}

/**
 * True while `state` still offers the toast's version. A check may find the
 * same version again, so `checking` keeps the toast. Any other state means
 * that the version was downloaded, installed, replaced or is gone from the feed.
 */
function offersVersion(state: UpdateState, version: string): boolean {
  if (state.type === 'checking') return true;
  return state.type === 'available' && state.update.version === version;
}

/**
 * Provides the update stores and client. Pushed states enter through one
 * `onState` subscription; the current state is read once at mount, so a
 * window opened late still shows a running download. An `available` state
 * offers the update toast, and the toast closes by itself once the state no
 * longer offers its version.
 */
export function UpdatesProvider(props: UpdatesProviderProps): ReactNode {
  const { api } = props;
  const queryClient = useQueryClient();
  const [updates] = useState(() => createUpdateStore());
  const [notices] = useState(() => createNoticeStore({ now: props.now, storage: props.storage }));
  const client = useMemo(() => createUpdatesClient(api, props.openWindow), [api, props.openWindow]);

  useEffect(() => {
    const stopFollowing = updates.subscribe((current, previous) => {
      const state = current.state;
      if (!state || state === previous.state) return;
      const { toastVersion, withdrawToast, offerToast } = notices.getState();
      if (toastVersion !== null && !offersVersion(state, toastVersion)) withdrawToast();
      if (state.type === 'available') offerToast(state.update.version);
      if (state.type === 'installed') void queryClient.invalidateQueries({ queryKey: VERSION_QUERY_KEY });
    });
    const { receive } = updates.getState();
    const unsubscribe = api.onState(receive);
    let active = true;
    client.getState().then(
      (state) => active && receive(state),
      (error: unknown) => console.warn('Reading the update state failed', error),
    );
    return () => {
      active = false;
      unsubscribe();
      stopFollowing();
    };
  }, [api, client, updates, notices, queryClient]);

  const value = useMemo(
    () => ({ client, updates, notices, checkIntervalMs: props.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS }),
    [client, updates, notices, props.checkIntervalMs],
  );
  return <UpdatesContext.Provider value={value}>{props.children}</UpdatesContext.Provider>;
}

function useUpdatesContext(): UpdatesContextValue {
  const value = useContext(UpdatesContext);
  if (!value) throw new Error('Update components must be rendered inside <UpdatesProvider>.');
  return value;
}

/** Returns the client of the nearest UpdatesProvider. */
export const useUpdatesClient = (): UpdatesClient => useUpdatesContext().client;

/** Returns the check interval that the version query uses as its staleTime. */
export const useCheckInterval = (): number => useUpdatesContext().checkIntervalMs;

/** Selects from the pushed update state. */
export function useUpdateState<T>(selector: (store: UpdateStore) => T): T {
  return useStore(useUpdatesContext().updates, selector);
}

/** Selects from the toast and dialog state. */
export function useNotices<T>(selector: (store: NoticeStore) => T): T {
  return useStore(useUpdatesContext().notices, selector);
}
