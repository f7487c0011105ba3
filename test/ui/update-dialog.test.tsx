// @vitest-environment jsdom
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  downloadResult,
  downloading,
  failure,
  installResult,
  ok,
  renderApp,
  StubBridge,
  TRUSTED_KEY_ID,
  unsignedSignature,
  updateInfo,
} from './render';

const UNSIGNED_WARNING = 'This release is not signature-checked.';

/** Renders the app with `update` (2.1.0 by default) offered and opens the dialog from the main screen. */
async function openOfferedUpdate(bridge = new StubBridge(), update = updateInfo()) {
  const user = userEvent.setup();
  const result = renderApp({ bridge });
  await waitFor(() => expect(bridge.calls.getState).toBeGreaterThan(0));
  bridge.emit({ type: 'available', update });
  await user.click(screen.getByRole('button', { name: 'View update' }));
  const dialog = await screen.findByRole('dialog', { name: 'Backend 2.1.0' });
  return { ...result, user, dialog };
}

describe('UpdateDialog', () => {
  it('shows version, size, date and notes', async () => {
    const { dialog } = await openOfferedUpdate();

    expect(dialog).toHaveTextContent('2.1.0');
    expect(within(dialog).getByText('1.0 MiB')).toBeInTheDocument();
    expect(within(dialog).getByText(new Date('2025-02-20T10:00:00Z').toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' }))).toBeInTheDocument();
    expect(within(dialog).getByRole('heading', { name: 'Release notes' })).toBeInTheDocument();
    // The Markdown renderer loads in its own chunk, so the notes arrive after the dialog.
    expect(await within(dialog).findByText('Faster start-up')).toBeInTheDocument();
  });

  it('names the trusted signing key', async () => {
    const { dialog } = await openOfferedUpdate();

    expect(within(dialog).getByText(`Signed by a trusted key (${TRUSTED_KEY_ID})`)).toBeVisible();
    expect(within(dialog).queryByRole('note')).not.toBeInTheDocument();
    expect(dialog).not.toHaveTextContent('not signature-checked');
  });

  it('warns about an unsigned release', async () => {
    const { dialog } = await openOfferedUpdate(new StubBridge(), updateInfo({ signature: unsignedSignature() }));

    const warning = within(dialog).getByRole('note', { name: UNSIGNED_WARNING });
    expect(warning).toBeVisible();
    expect(warning).toHaveTextContent('nothing proves who published it');
    expect(warning).toHaveTextContent('SHA-256 checksum');
    expect(dialog).not.toHaveTextContent('Signed by');
    expect(within(dialog).getByRole('button', { name: 'Download' })).toBeEnabled();
  });

  it('keeps the unsigned warning until installed', async () => {
    const unsigned = updateInfo({ signature: unsignedSignature() });
    const { dialog, bridge } = await openOfferedUpdate(new StubBridge(), unsigned);

    bridge.emit(downloading(40, { update: unsigned }));
    expect(within(dialog).getByRole('note', { name: UNSIGNED_WARNING })).toBeVisible();

    bridge.emit({ type: 'downloaded', update: unsigned, sha256: 'ab'.repeat(32) });
    expect(within(dialog).getByRole('note', { name: UNSIGNED_WARNING })).toBeVisible();

    bridge.emit({ type: 'installed', version: '2.1.0', previousVersion: '2.0.0' });
    expect(within(dialog).queryByRole('note')).not.toBeInTheDocument();
  });

  it('moves focus into the dialog and back', async () => {
    const { dialog, user } = await openOfferedUpdate();
    expect(dialog).toContainElement(document.activeElement as HTMLElement);

    await user.keyboard('{Escape}');

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'View update' }));
  });

  it('shows progress from pushed states', async () => {
    const { dialog, user, bridge } = await openOfferedUpdate();

    await user.click(within(dialog).getByRole('button', { name: 'Download' }));
    expect(bridge.calls.download).toBe(1);
    bridge.emit(downloading(0));
    bridge.emit(downloading(25));
    bridge.emit(downloading(50.7));

    const bar = within(dialog).getByRole('progressbar', { name: 'Downloading backend 2.1.0' });
    expect(bar).toHaveAttribute('aria-valuenow', '50');
    expect(bar).toHaveAttribute('aria-valuetext', expect.stringContaining('50%'));
    expect(dialog).toHaveTextContent('50% · 519 KiB of 1.0 MiB · 100 KiB/s · 5 s left');
  });

  it('shows sizes in binary units', async () => {
    const size = 12 * 1024 * 1024;
    const update = updateInfo({ assetSize: size });
    const { dialog, bridge } = await openOfferedUpdate(new StubBridge(), update);
    expect(within(dialog).getByText('12.0 MiB')).toBeInTheDocument();

    bridge.emit(downloading(37.5, { update, transferred: 4.5 * 1024 * 1024, total: size, bytesPerSecond: 1.5 * 1024 * 1024 }));

    expect(dialog).toHaveTextContent('37% · 4.5 MiB of 12.0 MiB · 1.5 MiB/s · 5 s left');
    expect(dialog).not.toHaveTextContent(/\d MB/);
  });

  it('shows an unknown size as indeterminate', async () => {
    const { dialog, bridge } = await openOfferedUpdate();

    bridge.emit(downloading(null));

    const bar = within(dialog).getByRole('progressbar');
    expect(bar).not.toHaveAttribute('aria-valuenow');
    expect(bar).toHaveAttribute('data-state', 'indeterminate');
    expect(dialog).toHaveTextContent('293 KiB downloaded, size unknown · 100 KiB/s');
  });

  it('cancels the download', async () => {
    const bridge = new StubBridge();
    let rejectDownload: () => void = () => undefined;
    bridge.handlers.download = () =>
      new Promise((resolve) => {
        rejectDownload = () => resolve(failure({ code: 'CANCELLED', message: 'The operation was cancelled.', retryable: true }));
      });
    bridge.handlers.cancel = async () => {
      bridge.emit({ type: 'available', update: updateInfo() });
      rejectDownload();
      return ok(true);
    };
    const { dialog, user } = await openOfferedUpdate(bridge);
    await user.click(within(dialog).getByRole('button', { name: 'Download' }));
    bridge.emit(downloading(30));

    await user.click(within(dialog).getByRole('button', { name: 'Cancel download' }));

    expect(bridge.calls.cancel).toBe(1);
    expect(await within(dialog).findByRole('button', { name: 'Download' })).toBeEnabled();
    expect(within(dialog).queryByRole('progressbar')).not.toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('reports a cancelled download', async () => {
    const bridge = new StubBridge();
    let rejectDownload: () => void = () => undefined;
    bridge.handlers.download = () =>
      new Promise((resolve) => {
        rejectDownload = () => resolve(failure({ code: 'CANCELLED', message: 'The operation was cancelled.', retryable: true }));
      });
    bridge.handlers.cancel = async () => {
      bridge.emit({ type: 'available', update: updateInfo() });
      rejectDownload();
      return ok(true);
    };
    const { dialog, user } = await openOfferedUpdate(bridge);
    await user.click(within(dialog).getByRole('button', { name: 'Download' }));
    bridge.emit(downloading(30));

    await user.click(within(dialog).getByRole('button', { name: 'Cancel download' }));

    const status = within(dialog).getByRole('status');
    await waitFor(() => expect(status).toHaveTextContent(/^Download cancelled\.$/));
    const download = await within(dialog).findByRole('button', { name: 'Download' });
    await waitFor(() => expect(download).toHaveAttribute('aria-disabled', 'false'));
    expect(status).toHaveTextContent(/^Download cancelled\.$/);

    await user.click(download);
    expect(bridge.calls.download).toBe(2);
    expect(status).toBeEmptyDOMElement();
  });

  it('puts Close last in the command row', async () => {
    const { dialog } = await openOfferedUpdate();

    const download = within(dialog).getByRole('button', { name: 'Download' });
    const close = within(dialog).getByRole('button', { name: 'Close' });
    const row = download.parentElement as HTMLElement;
    expect(row).toHaveClass('button-row');
    expect(close.parentElement).toBe(row);
    expect(row.firstElementChild).toBe(download);
    expect(row.lastElementChild).toBe(close);
  });

  it('keeps downloading after Escape', async () => {
    const { dialog, user, bridge } = await openOfferedUpdate();
    await user.click(within(dialog).getByRole('button', { name: 'Download' }));
    bridge.emit(downloading(40));

    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());

    expect(bridge.calls.cancel).toBe(0);
    expect(screen.getByText('Downloading backend 2.1.0: 40%')).toBeInTheDocument();
    bridge.emit(downloading(70));
    expect(screen.getByText('Downloading backend 2.1.0: 70%')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Show progress' }));
    const reopened = await screen.findByRole('dialog', { name: 'Backend 2.1.0' });
    expect(within(reopened).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '70');
    expect(reopened).toHaveTextContent('Closing this dialog does not stop a download');
  });

  it('retries a retryable failure', async () => {
    const { dialog, user, bridge } = await openOfferedUpdate();
    bridge.emit({
      type: 'error',
      error: { code: 'DOWNLOAD_STALLED', message: 'No data from 127.0.0.1 for 30 s.', retryable: true },
      during: 'downloading',
      update: updateInfo(),
    });

    const alert = within(dialog).getByRole('alert');
    expect(alert).toHaveTextContent('Download failed. No data from 127.0.0.1 for 30 s.');
    await user.click(within(alert).getByRole('button', { name: 'Retry' }));

    expect(bridge.calls.download).toBe(1);
  });

  it('offers no retry for a checksum mismatch', async () => {
    const { dialog, bridge } = await openOfferedUpdate();
    bridge.emit({
      type: 'error',
      error: { code: 'CHECKSUM_MISMATCH', message: 'SHA-256 does not match.', retryable: false, details: { expected: 'ba78', actual: '0000' } },
      during: 'downloading',
      update: updateInfo(),
    });

    const alert = within(dialog).getByRole('alert');
    expect(alert).toHaveAttribute('data-error-code', 'CHECKSUM_MISMATCH');
    expect(alert).toHaveTextContent('damaged or altered');
    expect(within(alert).queryByRole('button', { name: 'Retry' })).not.toBeInTheDocument();
  });

  it('explains each signature failure', async () => {
    const explanations = {
      SIGNATURE_INVALID: "does not match the publisher's signature",
      SIGNATURE_MISSING: 'has no signature from a trusted key',
      MANIFEST_MISMATCH: 'does not match what the publisher signed for this version and platform',
    } as const;
    const { dialog, bridge } = await openOfferedUpdate();
    expect(within(dialog).getByText(`Signed by a trusted key (${TRUSTED_KEY_ID})`)).toBeVisible();

    for (const [code, explanation] of Object.entries(explanations)) {
      bridge.emit({ type: 'error', error: { code: code as keyof typeof explanations, message: `${code} from the engine.`, retryable: false }, during: 'downloading', update: updateInfo() });

      const alert = within(dialog).getByRole('alert');
      expect(alert).toHaveAttribute('data-error-code', code);
      expect(alert).toHaveTextContent(explanation);
      expect(alert).toHaveTextContent('the installed backend keeps running');
      expect(alert).toHaveTextContent("contact the app's publisher");
      expect(alert).not.toHaveTextContent('not signed by the publisher');
      expect(alert).not.toHaveTextContent(/download (it )?again/i);
      expect(dialog).not.toHaveTextContent('Signed by a trusted key');
      for (const [other, text] of Object.entries(explanations)) {
        if (other !== code) expect(alert).not.toHaveTextContent(text);
      }
    }
  });

  it('keeps the signer after other errors', async () => {
    const { dialog, bridge } = await openOfferedUpdate();

    bridge.emit({ type: 'error', error: { code: 'DOWNLOAD_STALLED', message: 'No data for 30 s.', retryable: true }, during: 'downloading', update: updateInfo() });

    expect(within(dialog).getByRole('alert')).toHaveTextContent('No data for 30 s.');
    expect(within(dialog).getByText(`Signed by a trusted key (${TRUSTED_KEY_ID})`)).toBeVisible();
  });

  it('shows a rejected command', async () => {
    const bridge = new StubBridge();
    bridge.handlers.download = async () => failure({ code: 'BUSY', message: 'Cannot download now: an install is running.', retryable: true });
    const { dialog, user } = await openOfferedUpdate(bridge);

    await user.click(within(dialog).getByRole('button', { name: 'Download' }));

    expect(await within(dialog).findByRole('alert')).toHaveTextContent('Cannot download now: an install is running.');
  });

  it('installs and shows the running version', async () => {
    const bridge = new StubBridge();
    bridge.handlers.download = async () => ok(downloadResult());
    bridge.handlers.install = async () => ok(installResult());
    const { dialog, user } = await openOfferedUpdate(bridge);
    bridge.emit({ type: 'downloaded', update: updateInfo(), sha256: 'ab'.repeat(32) });
    const versionReads = bridge.calls.getVersion;

    await user.click(within(dialog).getByRole('button', { name: 'Install and restart backend' }));
    expect(bridge.calls.install).toBe(1);
    bridge.emit({ type: 'installing', update: updateInfo() });
    expect(within(dialog).queryByRole('button', { name: /Cancel/ })).not.toBeInTheDocument();
    bridge.emit({ type: 'restarting', update: updateInfo() });
    expect(within(dialog).queryByRole('button', { name: /Cancel/ })).not.toBeInTheDocument();
    bridge.emit({ type: 'installed', version: '2.1.0', previousVersion: '2.0.0' });

    expect(within(dialog).getByRole('status')).toHaveTextContent('Backend 2.1.0 is running. It replaced 2.0.0.');
    expect(dialog).not.toHaveTextContent('No update is being offered');
    expect(dialog).not.toHaveTextContent('Closing this dialog does not stop a download');
    expect(within(dialog).queryByRole('button', { name: 'Cancel download' })).not.toBeInTheDocument();
    await waitFor(() => expect(bridge.calls.getVersion).toBeGreaterThan(versionReads));
  });

  it('reads a first install without a previous version', async () => {
    const { dialog, bridge } = await openOfferedUpdate();

    bridge.emit({ type: 'installed', version: '2.1.0', previousVersion: null });

    expect(within(dialog).getByRole('status')).toHaveTextContent(/^Backend 2\.1\.0 is running\.$/);
    expect(dialog).not.toHaveAttribute('aria-describedby');
  });

  it('offers Cancel only while downloading', async () => {
    const { dialog, bridge } = await openOfferedUpdate();
    expect(within(dialog).queryByRole('button', { name: /Cancel/ })).not.toBeInTheDocument();

    bridge.emit(downloading(40));
    expect(within(dialog).getByRole('button', { name: 'Cancel download' })).toBeEnabled();

    bridge.emit({ type: 'downloaded', update: updateInfo(), sha256: 'ab'.repeat(32) });
    expect(within(dialog).queryByRole('button', { name: /Cancel/ })).not.toBeInTheDocument();

    for (const type of ['installing', 'restarting'] as const) {
      bridge.emit({ type, update: updateInfo() });
      expect(within(dialog).queryByRole('button', { name: /Cancel/ })).not.toBeInTheDocument();
    }
  });

  it('shows the download hint only while downloading', async () => {
    const { dialog, bridge } = await openOfferedUpdate();
    const hint = 'Closing this dialog does not stop a download';
    expect(dialog).not.toHaveTextContent(hint);

    bridge.emit(downloading(40));
    expect(dialog).toHaveTextContent(hint);

    bridge.emit({ type: 'downloaded', update: updateInfo(), sha256: 'ab'.repeat(32) });
    expect(dialog).not.toHaveTextContent(hint);

    bridge.emit({ type: 'installing', update: updateInfo() });
    expect(dialog).not.toHaveTextContent(hint);

    bridge.emit({ type: 'installed', version: '2.1.0', previousVersion: '2.0.0' });
    expect(dialog).not.toHaveTextContent(hint);
  });

  it('focuses the step command on open', async () => {
    const user = userEvent.setup();
    const { bridge } = renderApp();
    bridge.emit({ type: 'available', update: updateInfo({ releaseNotes: 'See the [changelog](https://example.com/changelog).' }) });

    await user.click(screen.getByRole('button', { name: 'View update' }));

    const dialog = await screen.findByRole('dialog', { name: 'Backend 2.1.0' });
    expect(await within(dialog).findByRole('link', { name: 'changelog' })).toBeInTheDocument();
    expect(within(dialog).getByRole('button', { name: 'Download' })).toHaveFocus();
  });

  it('moves focus when the step changes', async () => {
    const { dialog, user, bridge } = await openOfferedUpdate();

    await user.keyboard('{Enter}');
    expect(bridge.calls.download).toBe(1);
    bridge.emit(downloading(10));
    await waitFor(() => expect(within(dialog).getByRole('button', { name: 'Close' })).toHaveFocus());

    // Focus that the user placed stays where it is when the next step arrives.
    bridge.emit({ type: 'downloaded', update: updateInfo(), sha256: 'ab'.repeat(32) });
    expect(within(dialog).getByRole('button', { name: 'Close' })).toHaveFocus();

    await user.tab({ shift: true });
    expect(within(dialog).getByRole('button', { name: 'Install and restart backend' })).toHaveFocus();
    await user.keyboard('{Enter}');
    bridge.emit({ type: 'installing', update: updateInfo() });
    await waitFor(() => expect(within(dialog).getByRole('button', { name: 'Close' })).toHaveFocus());
  });

  it('returns focus to Check when the opener is gone', async () => {
    const { user, bridge } = await openOfferedUpdate();
    bridge.emit({ type: 'installed', version: '2.1.0', previousVersion: '2.0.0' });
    expect(screen.queryByRole('button', { name: 'View update', hidden: true })).not.toBeInTheDocument();

    await user.keyboard('{Escape}');

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    await waitFor(() => expect(screen.getByRole('button', { name: 'Check for updates' })).toHaveFocus());
  });
});
