import { useEffect, useState, type ReactNode } from 'react';
import type { UpdateState } from '../../main/updater/state';
import { BridgeError } from '../../preload/api';
import { useUpdateState } from './context';
import { DownloadProgress } from './DownloadProgress';
import { ErrorNotice } from './ErrorNotice';
import { PRIMARY_ACTION_ATTRIBUTE } from './focus';
import { isCancelledError, useCheckForUpdates, useUpdateCommands } from './queries';
import { selectCanDownload, selectCanInstall, selectRetryCommand, type RetryCommand } from './selectors';

/** Returns the text of the step that runs or has just finished, or null when no step needs one. */
export function describeStep(state: UpdateState | null): string | null {
  switch (state?.type) {
    case 'checking':
      return 'Checking for updates…';
    case 'installing':
      return `Installing backend ${state.update.version}…`;
    case 'restarting':
      return `Restarting the backend with version ${state.update.version}…`;
    case 'installed':
      return state.previousVersion
        ? `Backend ${state.version} is running. It replaced ${state.previousVersion}.`
        : `Backend ${state.version} is running.`;
    default:
      return null;
  }
}

/** Step text after the user cancels a download, until the next command or step. */
export const DOWNLOAD_CANCELLED_TEXT = 'Download cancelled.';

/**
 * Shows the step the update is in and the commands that fit it, in one row
 * that ends with `closeButton`. The step text stays in one live region, so
 * that screen readers announce each new step.
 */
export function UpdateActions({ closeButton }: { closeButton?: ReactNode }): ReactNode {
  const state = useUpdateState((store) => store.state);
  const canDownload = useUpdateState(selectCanDownload);
  const canInstall = useUpdateState(selectCanInstall);
  const retryCommand = useUpdateState(selectRetryCommand);
  const commands = useUpdateCommands();
  const check = useCheckForUpdates();
  // A rejected command that left no error state behind, such as BUSY.
  const [commandError, setCommandError] = useState<BridgeError | null>(null);
  // True after this dialog cancelled a download, while the state is still the offer that the cancel returned to.
  const [cancelled, setCancelled] = useState(false);
  const stateType = state?.type ?? null;
  useEffect(() => {
    if (stateType !== 'available' && stateType !== 'downloading') setCancelled(false);
  }, [stateType]);

  const showError = (error: unknown): void => {
    if (error instanceof BridgeError && !isCancelledError(error)) setCommandError(error);
  };
  const run = (command: RetryCommand | 'cancel'): void => {
    setCommandError(null);
    setCancelled(false);
    if (command === 'cancel') {
      commands.cancel.mutate(undefined, { onSuccess: (done) => setCancelled(done), onError: showError });
      return;
    }
    const mutation = command === 'check' ? check : commands[command];
    mutation.mutate(undefined, { onError: showError });
  };
  const stepText = describeStep(state) ?? (cancelled && stateType !== 'downloading' ? DOWNLOAD_CANCELLED_TEXT : null);

  // Download and Install use aria-disabled while their command runs, because a disabled button loses keyboard focus.
  const primary = { [PRIMARY_ACTION_ATTRIBUTE]: true };
  return (
    <div className="update-actions">
      {state?.type === 'downloading' ? <DownloadProgress state={state} /> : null}
      <p role="status" className={state?.type === 'installed' ? 'step-status success' : 'step-status'}>
        {stepText}
      </p>
      {state?.type === 'error' ? (
        <ErrorNotice
          error={state.error}
          during={state.during}
          onRetry={retryCommand ? () => run(retryCommand) : undefined}
        />
      ) : null}
      {commandError && state?.type !== 'error' ? <ErrorNotice error={commandError.toData()} /> : null}

      {state?.type === 'downloading' ? (
        <p className="hint">Closing this dialog does not stop a download. Use Cancel download to stop it.</p>
      ) : null}

      <div className="button-row">
        {canDownload ? (
          <button
            type="button"
            className="primary"
            onClick={() => {
              if (!commands.download.isPending) run('download');
            }}
            aria-disabled={commands.download.isPending}
            {...primary}
          >
            Download
          </button>
        ) : null}
        {canInstall ? (
          <button
            type="button"
            className="primary"
            onClick={() => {
              if (!commands.install.isPending) run('install');
            }}
            aria-disabled={commands.install.isPending}
            {...primary}
          >
            Install and restart backend
          </button>
        ) : null}
        {/* Only a running download has a Cancel button here. Installing cannot be cancelled, and a failed install rolls back by itself. */}
        {state?.type === 'downloading' ? (
          <button type="button" onClick={() => run('cancel')} disabled={commands.cancel.isPending}>
            Cancel download
          </button>
        ) : null}
        {closeButton}
      </div>
    </div>
  );
}
