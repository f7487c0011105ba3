import type { ReactNode } from 'react';
import type { VersionInfo } from '../../main/updater/service';
import { useBackendVersion } from './queries';

function describeBackend(backend: VersionInfo['backend']): string {
  if (!backend.running) return 'Stopped';
  return backend.healthy ? 'Running' : 'Starting or not responding';
}

/** Shows the installed backend version and whether the backend runs. */
export function BackendStatus(): ReactNode {
  const query = useBackendVersion();
  if (query.isPending) return <p role="status">Reading the backend status…</p>;
  if (query.isError) {
    return (
      <div role="alert" className="error-notice">
        <p>Could not read the backend status: {query.error.message}</p>
        <button type="button" onClick={() => void query.refetch()}>
          Try again
        </button>
      </div>
    );
  }

  const { currentVersion, previousVersion, backend } = query.data;
  return (
    <dl className="backend-status" aria-label="Backend status">
      <dt>Version</dt>
      <dd data-testid="backend-version">{currentVersion ?? 'Not installed'}</dd>
      <dt>Status</dt>
      <dd data-testid="backend-running">{describeBackend(backend)}</dd>
      {backend.running ? (
        <>
          <dt>Port</dt>
          <dd>{backend.port}</dd>
        </>
      ) : null}
      {previousVersion ? (
        <>
          <dt>Previous version</dt>
          <dd>{previousVersion}</dd>
        </>
      ) : null}
    </dl>
  );
}
