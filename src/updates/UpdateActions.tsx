import { useState, type ReactNode } from 'react';
import { BridgeError } from '../../preload/api';
import { useUpdateState } from './context';
import { DownloadProgress } from './DownloadProgress';
import { ErrorNotice } from './ErrorNotice';
import { isCancelledError, useCheckForUpdates, useUpdateCommands } from './queries';
import { selectCanCancel, selectCanDownload, selectCanInstall, selectRetryCommand, type RetryCommand } from './selectors';

/** Phases in which the dialog shows a Cancel button; it is enabled only while cancelling is possible. */
const CANCEL_SHOWN = new Set(['downloading', 'installing', 'restarting']);

/** Shows the step the update is in and the commands that fit it. */
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

  const version = state && 'update' in state && state.update ? state.update.version : null;
  return (
    <div className="update-actions">
      {state?.type === 'downloading' ? <DownloadProgress state={state} /> : null}
      {state?.type === 'checking' ? <p role="status">Checking for updates…</p> : null}
      {state?.type === 'installing' ? <p role="status">Installing backend {version}…</p> : null}
      {state?.type === 'restarting' ? <p role="status">Restarting the backend with version {version}…</p> : null}
      {state?.type === 'installed' ? (
        <p role="status" className="success">
          Backend {state.version} is running
        </p>
      ) : null}
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
          <button type="button" className="primary" onClick={() => run('download')} disabled={commands.download.isPending}>
            Download
          </button>
        ) : null}
        {canInstall ? (
          <button type="button" className="primary" onClick={() => run('install')} disabled={commands.install.isPending}>
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
