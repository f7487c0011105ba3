import { useState, type ReactNode } from 'react';
import type { UpdateState } from '../../main/updater/state';
import { BridgeError } from '../../preload/api';
import { useUpdateState } from './context';
import { DownloadProgress } from './DownloadProgress';
import { ErrorNotice } from './ErrorNotice';
import { PRIMARY_ACTION_ATTRIBUTE } from './focus';
import { isCancelledError, useCheckForUpdates, useUpdateCommands } from './queries';
import { selectCanCancel, selectCanDownload, selectCanInstall, selectRetryCommand, type RetryCommand } from './selectors';

/** Phases in which the dialog shows a Cancel button; it is enabled only while cancelling is possible. */
const CANCEL_SHOWN = new Set(['downloading', 'installing', 'restarting']);

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

/**
 * Shows the step the update is in and the commands that fit it. The step text
 * stays in one live region, so that screen readers announce each new step.
 */
export function UpdateActions(): ReactNode {
  const state = useUpdateState((store) => store.state);
  const canDownload = useUpdateState(selectCanDownload);
  const canInstall = useUpdateState(selectCanInstall);
  const canCancel = useUpdateState(selectCanCancel);
  const retryCommand = useUpdateState(selectRetryCommand);
  const commands = useUpdateCommands();
  const check = useCheckForUpdates();
  // A rejected command that left no error state behind, such as BUSY.
  const [commandError, setCommandError] = useState<BridgeError | null>(null);

  const run = (command: RetryCommand | 'cancel'): void => {
    setCommandError(null);
    const mutation = command === 'check' ? check : commands[command];
    mutation.mutate(undefined, {
      onError: (error: unknown) => {
        if (error instanceof BridgeError && !isCancelledError(error)) setCommandError(error);
      },
    });
  };

  // Download and Install use aria-disabled while their command runs, because a disabled button loses keyboard focus.
  const primary = { [PRIMARY_ACTION_ATTRIBUTE]: true };
  return (
    <div className="update-actions">
      {state?.type === 'downloading' ? <DownloadProgress state={state} /> : null}
      <p role="status" className={state?.type === 'installed' ? 'step-status success' : 'step-status'}>
        {describeStep(state)}
      </p>
      {state?.type === 'error' ? (
        <ErrorNotice
          error={state.error}
          during={state.during}
          onRetry={retryCommand ? () => run(retryCommand) : undefined}
        />
      ) : null}
      {commandError && state?.type !== 'error' ? <ErrorNotice error={commandError.toData()} /> : null}

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
        {state && CANCEL_SHOWN.has(state.type) ? (
          <button
            type="button"
            onClick={() => run('cancel')}
            disabled={!canCancel || commands.cancel.isPending}
            title={canCancel ? undefined : 'Installing cannot be cancelled; a failed install rolls back by itself.'}
          >
            Cancel download
          </button>
        ) : null}
      </div>
    </div>
  );
}
