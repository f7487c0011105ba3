import { Dialog } from 'radix-ui';
import type { ReactNode } from 'react';
import type { UpdateInfo } from '../../main/updater/state';
import { useNotices, useUpdateState } from './context';
import { formatBytes, formatDate } from './format';
import { ReleaseNotes } from './ReleaseNotes';
import { selectUpdate } from './selectors';
import { UpdateActions } from './UpdateActions';

function UpdateDetails({ update }: { update: UpdateInfo }): ReactNode {
  const published = formatDate(update.publishedAt);
  return (
    <dl className="update-details">
      <dt>Version</dt>
      <dd>
        {update.version}
        {update.prerelease ? ' (prerelease)' : ''}
      </dd>
      <dt>Installed</dt>
      <dd>{update.currentVersion}</dd>
      <dt>Size</dt>
      <dd>{update.assetSize === null ? 'Unknown' : formatBytes(update.assetSize)}</dd>
      {published ? (
        <>
          <dt>Published</dt>
          <dd>{published}</dd>
        </>
      ) : null}
    </dl>
  );
}

/**
 * The update dialog: details, release notes, and the commands of the current
 * step. Closing it, with Esc or Close, leaves a running download going; the
 * main screen keeps showing its progress, and Cancel download stops it.
 */
export function UpdateDialog(): ReactNode {
  const open = useNotices((store) => store.dialogOpen);
  const openDialog = useNotices((store) => store.openDialog);
  const closeDialog = useNotices((store) => store.closeDialog);
  const update = useUpdateState(selectUpdate);
  const installedVersion = useUpdateState((store) => (store.state?.type === 'installed' ? store.state.version : null));
  const version = update?.version ?? installedVersion;

  return (
    <Dialog.Root open={open} onOpenChange={(next) => (next ? openDialog() : closeDialog())}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title>{version ? `Backend ${version}` : 'Backend update'}</Dialog.Title>
          <Dialog.Description className="muted">
            {update ? `${update.releaseName || `Version ${update.version}`} for the bundled backend.` : 'No update is being offered right now.'}
          </Dialog.Description>
          {update ? <UpdateDetails update={update} /> : null}
          {update ? (
            <section aria-labelledby="release-notes-heading">
              <h3 id="release-notes-heading">Release notes</h3>
              <ReleaseNotes markdown={update.releaseNotes} />
            </section>
          ) : null}
          <UpdateActions />
          <p className="hint">Closing this dialog does not stop a download. Use Cancel download to stop it.</p>
          <Dialog.Close asChild>
            <button type="button" className="secondary">
              Close
            </button>
          </Dialog.Close>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
