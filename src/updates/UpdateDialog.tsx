import { Dialog } from 'radix-ui';
import { useEffect, type ReactNode } from 'react';
import type { UpdateInfo } from '../../main/updater/state';
import { useNotices, useUpdateState } from './context';
import { isSignatureError } from './ErrorNotice';
import { DIALOG_CLOSE_ATTRIBUTE, useDialogFocus } from './focus';
import { formatBytes, formatDate } from './format';
import { LazyReleaseNotes, preloadReleaseNotes } from './LazyReleaseNotes';
import { selectUpdate } from './selectors';
import { SignatureNotice } from './SignatureNotice';
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
 * Returns the dialog's description, or null after an install, when the step
 * text states the outcome and a second line would only repeat it.
 */
function describeDialog(update: UpdateInfo | null, installedVersion: string | null): string | null {
  if (update) return `Replaces backend ${update.currentVersion}. Only the backend restarts; the app stays open.`;
  if (installedVersion) return null;
  return 'No update is being offered right now.';
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
  const step = useUpdateState((store) => store.state?.type ?? null);
  const installedVersion = useUpdateState((store) => (store.state?.type === 'installed' ? store.state.version : null));
  // The feed's signature status describes the offer. A failed check of the downloaded bytes overrides it.
  const signatureFailed = useUpdateState((store) => store.state?.type === 'error' && isSignatureError(store.state.error));
  const version = update?.version ?? installedVersion;
  const focus = useDialogFocus(open, step);

  // The notes chunk loads as soon as an update is offered, so opening the dialog rarely waits for it.
  useEffect(() => {
    if (update) void preloadReleaseNotes();
  }, [update]);

  const description = describeDialog(update, installedVersion);

  return (
    <Dialog.Root open={open} onOpenChange={(next) => (next ? openDialog() : closeDialog())}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content
          ref={focus.content}
          className="dialog"
          onOpenAutoFocus={focus.onOpenAutoFocus}
          onCloseAutoFocus={focus.onCloseAutoFocus}
          {...(description === null ? { 'aria-describedby': undefined } : {})}
        >
          <Dialog.Title>{version ? `Backend ${version}` : 'Backend update'}</Dialog.Title>
          {description === null ? null : <Dialog.Description className="muted">{description}</Dialog.Description>}
          {update ? <UpdateDetails update={update} /> : null}
          {update && !signatureFailed ? <SignatureNotice signature={update.signature} /> : null}
          {update ? (
            <section aria-labelledby="release-notes-heading">
              <h3 id="release-notes-heading">Release notes</h3>
              <LazyReleaseNotes markdown={update.releaseNotes} />
            </section>
          ) : null}
          <UpdateActions
            closeButton={
              <Dialog.Close asChild>
                <button type="button" className="secondary" {...{ [DIALOG_CLOSE_ATTRIBUTE]: true }}>
                  Close
                </button>
              </Dialog.Close>
            }
          />
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
