import { createStore, type StoreApi } from 'zustand/vanilla';
import type { UpdateState } from '../../main/updater/state';

/** Update state in the renderer, fed by pushes and `getState()`. */
export interface UpdateSnapshot {
  state: UpdateState | null;
  /** Ids of downloads that have ended; a late progress push for one of them is stale. */
  endedDownloads: readonly string[];
}

export interface UpdateStore extends UpdateSnapshot {
  /** Applies one state from a push or from `getState()`. */
  receive(next: UpdateState): void;
}

/** How many ended download ids to remember; older ones can no longer arrive in order. */
const ENDED_DOWNLOADS_KEPT = 20;

/** States that come after a download; progress never replaces them. */
const AFTER_DOWNLOAD = new Set<UpdateState['type']>(['downloaded', 'installing', 'restarting']);

/**
 * Returns the snapshot after `next`. States arrive out of order when pushes
 * and `getState()` results cross, so a state with a `seq` not above the
 * current one is dropped. A progress state never replaces a later phase or
 * revives a download that ended, and within one download the percent and the
 * byte count never go down. A new download id may start again at 0.
 */
export function reduceUpdateState(current: UpdateSnapshot, next: UpdateState): UpdateSnapshot {
  const previous = current.state;
  if (previous && next.seq <= previous.seq) return current;

  if (next.type === 'downloading') {
    if (current.endedDownloads.includes(next.downloadId)) return current;
    if (previous && AFTER_DOWNLOAD.has(previous.type)) return current;
    if (previous?.type === 'downloading' && previous.downloadId === next.downloadId) {
      return { ...current, state: keepProgressMonotonic(previous, next) };
    }
  }

  let endedDownloads = current.endedDownloads;
  const downloadEnded =
    previous?.type === 'downloading' && (next.type !== 'downloading' || next.downloadId !== previous.downloadId);
  if (downloadEnded) endedDownloads = [...endedDownloads, previous.downloadId].slice(-ENDED_DOWNLOADS_KEPT);
  return { state: next, endedDownloads };
}

type DownloadingState = Extract<UpdateState, { type: 'downloading' }>;

function keepProgressMonotonic(previous: DownloadingState, next: DownloadingState): DownloadingState {
  const percent =
    next.percent !== null && previous.percent !== null ? Math.max(next.percent, previous.percent) : next.percent;
  return { ...next, percent, transferred: Math.max(next.transferred, previous.transferred) };
}

/** Creates the store that one onState subscription feeds. */
export function createUpdateStore(): StoreApi<UpdateStore> {
  return createStore<UpdateStore>()((set) => ({
    state: null,
    endedDownloads: [],
    receive: (next) => set((current) => reduceUpdateState(current, next)),
  }));
}
