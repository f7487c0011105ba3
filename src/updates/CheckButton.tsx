import type { ReactNode } from 'react';
import { useUpdateState } from './context';
import { isCancelledError, useCheckForUpdates } from './queries';
import { selectCanCheck } from './selectors';

/** Renders the "Check for updates" button and the outcome of the check it started. */
export function CheckButton(): ReactNode {
  const check = useCheckForUpdates();
  const canCheck = useUpdateState(selectCanCheck);
  const checking = useUpdateState((store) => store.state?.type === 'checking');
  const busy = check.isPending || checking;

  let outcome: string | null = null;
  if (check.data && !check.data.updateAvailable) outcome = `You're up to date (${check.data.currentVersion})`;
  if (check.data?.updateAvailable) outcome = `Backend ${check.data.latestVersion} is available`;
  const failure = check.error && !isCancelledError(check.error) ? check.error : null;

  return (
    <div className="check-updates">
      <button type="button" onClick={() => check.mutate()} disabled={busy || !canCheck} aria-busy={busy}>
        {busy ? 'Checking for updates…' : 'Check for updates'}
      </button>
      <p role="status" className="check-outcome">
        {busy ? null : outcome}
      </p>
      {failure ? (
        <p role="alert" className="error-text">
          Checking for updates failed: {failure.message}
        </p>
      ) : null}
    </div>
  );
}
