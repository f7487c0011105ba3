import type { Logger } from '../../logger';
import type { RecoveryReport } from '../install';
import { removeRecordedStaging } from './leftovers';
import type { StateFile, StoredState } from './state-file';

/** Parts of the install store that finishing a journal entry uses. */
export interface PendingContext {
  stateFile: StateFile;
  stagingDir: string;
  logger: Logger;
  /** Returns whether `version` is installed with its entry point. */
  isInstalled(version: string): Promise<boolean>;
}

/**
 * Finishes the journaled step of an interrupted install. An unfinished
 * staging folder is removed. A version that was activated but never passed
 * its health check is switched back to the previous version when that one is
 * still installed, and kept otherwise.
 */
export async function finishPending(state: StoredState, context: PendingContext): Promise<RecoveryReport> {
  const pending = state.pending;
  if (pending === null) return { action: 'none', current: state.current };

  if (pending.step === 'staging') {
    await removeRecordedStaging(context.stagingDir, pending.stagingDir, context.logger);
    await context.stateFile.write({ ...state, pending: null });
    return { action: 'cleaned-staging', current: state.current, detail: `removed the unfinished staging of ${pending.version}` };
  }

  const previous = pending.previous;
  if (previous !== null && (await context.isInstalled(previous))) {
    const prior = pending.priorPrevious ?? null;
    const rollbackTarget = prior !== null && (await context.isInstalled(prior)) ? prior : null;
    await context.stateFile.write({ ...state, current: previous, previous: rollbackTarget, pending: null });
    return { action: 'rolled-back', current: previous, detail: `version ${pending.version} was activated but never passed its health check, so it switched back to ${previous}` };
  }

  await context.stateFile.write({ ...state, pending: null });
  const reason = previous === null ? 'there is no previous version' : `the previous version ${previous} is no longer installed`;
  return { action: 'none', current: state.current, detail: `version ${pending.version} was activated but never passed its health check, and ${reason}, so it was kept` };
}
