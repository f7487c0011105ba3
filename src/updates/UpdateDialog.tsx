import { Dialog } from 'radix-ui';
import { useLayoutEffect, useRef, type ReactNode } from 'react';
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
 * Shows the update dialog: details, release notes, and the commands of the
 * current step. Closing it, with Esc or Close, leaves a running download going; the
 * main screen keeps showing its progress, and Cancel download stops it.
 */
export function UpdateDialog(): ReactNode {
  const open = useNotices((store) => store.dialogOpen);
  const openDialog = useNotices((store) => store.openDialog);
  const closeDialog = useNotices((store) => store.closeDialog);
  const update = useUpdateState(selectUpdate);
  const installedVersion = useUpdateState((store) => (store.state?.type === 'installed' ? store.state.version : null));
  const version = update?.version ?? installedVersion;

  // Radix returns focus only to a Dialog.Trigger, but this dialog opens from
  // several places (toast, status line, check button). Layout effects run
  // before Radix moves focus into the dialog, so the opener is still focused here.
  const opener = useRef<HTMLElement | null>(null);
  useLayoutEffect(() => {
    if (open && document.activeElement instanceof HTMLElement) opener.current = document.activeElement;
  }, [open]);
  const returnFocus = (event: Event): void => {
    const element = opener.current;
    opener.current = null;
    if (!element?.isConnected) return;
    event.preventDefault();
    element.focus();
  };

  return (
    <Dialog.Root open={open} onOpenChange={(next) => (next ? openDialog() : closeDialog())}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog" onCloseAutoFocus={returnFocus}>
          <Dialog.Title>{version ? `Backend ${version}` : 'Backend update'}</Dialog.Title>
          <Dialog.Description className="muted">
            {update
              ? `Replaces backend ${update.currentVersion}. Only the backend restarts; the app stays open.`
              : 'No update is being offered right now.'}
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
