import type { UpdateInfo, UpdateState } from '../../main/updater/state';
import type { UpdateSnapshot } from './store';

type Snapshot = Pick<UpdateSnapshot, 'state'>;

/** Returns the update being offered or handled, if any. */
export function selectUpdate({ state }: Snapshot): UpdateInfo | null {
  if (!state) return null;
  switch (state.type) {
    case 'available':
    case 'downloading':
    case 'downloaded':
    case 'installing':
    case 'restarting':
      return state.update;
    case 'error':
      return state.update ?? null;
    default:
      return null;
  }
}

const BUSY = new Set<UpdateState['type']>(['checking', 'downloading', 'installing', 'restarting']);

/** True when no check, download or install runs. */
export const selectCanCheck = ({ state }: Snapshot): boolean => !state || !BUSY.has(state.type);

/** True when an update is offered and no download has started; a failed step retries through selectRetryCommand. */
export const selectCanDownload = ({ state }: Snapshot): boolean => state?.type === 'available';

/** True when the downloaded update can be installed. */
export const selectCanInstall = ({ state }: Snapshot): boolean => state?.type === 'downloaded';

/** True while a check or download runs; installing and restarting cannot be cancelled. */
export const selectCanCancel = ({ state }: Snapshot): boolean =>
  state?.type === 'downloading' || state?.type === 'checking';

/** Returns the progress of the running download, or null. */
export function selectDownload({ state }: Snapshot): Extract<UpdateState, { type: 'downloading' }> | null {
  return state?.type === 'downloading' ? state : null;
}

/** The command that retries the step an error state names. */
export type RetryCommand = 'check' | 'download' | 'install';

/** Returns the command that retries a failed step, or null when no retry can help. */
export function selectRetryCommand({ state }: Snapshot): RetryCommand | null {
  if (state?.type !== 'error' || !state.error.retryable) return null;
  if (state.during === 'downloading' && state.update) return 'download';
  if ((state.during === 'installing' || state.during === 'restarting') && state.update) return 'install';
  return 'check';
}
