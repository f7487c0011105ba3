import { useEffect, type ReactNode } from 'react';
import type { UpdateState } from '../../main/updater/state';
import { useUpdateState } from './context';
import { CHECK_BUTTON_ID } from './focus';
import { isCancelledError, useCheckForUpdates } from './queries';
import { selectCanCheck } from './selectors';

/**
 * Returns the line next to the button for a check that found nothing. A found
 * update is not repeated here, because the status line below shows it.
 */
export function describeCheckOutcome(state: UpdateState | null): string | null {
  if (state?.type !== 'not-available') return null;
  if (state.reason === 'up-to-date') return `You're up to date (${state.currentVersion})`;
  return `No eligible release in the feed (${state.currentVersion} installed)`;
}

/**
 * Renders the "Check for updates" button and the outcome of the last check,
 * read from the pushed state so that it never outlives the state. While a
 * check, download or install runs, the button is `aria-disabled` instead of
 * `disabled`, because Chromium moves focus from a disabled button to the page body.
 */
export function CheckButton(): ReactNode {
  const check = useCheckForUpdates();
  const state = useUpdateState((store) => store.state);
  const canCheck = useUpdateState(selectCanCheck);
  const busy = check.isPending || state?.type === 'checking';
  const unavailable = busy || !canCheck;

  // A rejected check shows until the next pushed state, which supersedes it.
  const { reset } = check;
  const seq = state?.seq;
  useEffect(() => {
    // isPending is not a dependency, because settling the check must not clear its own failure.
    if (!check.isPending) reset();
  }, [seq, reset]);

  // An error state shows on the status line already, so only a rejection that left none shows here.
  const failure = check.error && !isCancelledError(check.error) && state?.type !== 'error' ? check.error : null;
  return (
    <div className="check-updates">
      <button
        id={CHECK_BUTTON_ID}
        type="button"
        onClick={() => {
          if (!unavailable) check.mutate();
        }}
        aria-disabled={unavailable}
        aria-busy={busy}
      >
        {busy ? 'Checking for updates…' : 'Check for updates'}
      </button>
      <p role="status" className="check-outcome">
        {busy ? null : describeCheckOutcome(state)}
      </p>
      {failure ? (
        <p role="alert" className="error-text">
          Checking for updates failed: {failure.message}
        </p>
      ) : null}
    </div>
  );
}
