// @vitest-environment jsdom
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { UpdateStateInput } from '../../main/updater/state';
import { TOAST_COOLDOWN_MS } from '../../src/updates/notices';
import { createMemoryStorage, downloading, ok, renderApp, StubBridge, updateFound, updateInfo } from './render';

const HOUR = 60 * 60_000;

/** Returns the toasts on screen, including those that an open modal dialog hides from assistive technology. */
function toasts(): HTMLElement[] {
  const region = screen.getByRole('region', { name: /notifications/i, hidden: true });
  return within(region).queryAllByRole('listitem', { hidden: true });
}

describe('UpdateToast', () => {
  it('shows a toast when an update is found', async () => {
    const { bridge } = renderApp();
    await waitFor(() => expect(bridge.calls.getState).toBeGreaterThan(0));

    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
    bridge.emit({ type: 'available', update: updateInfo() });

    const items = toasts();
    expect(items).toHaveLength(1);
    expect(items[0]).toHaveTextContent('Backend 2.1.0 is available');
    expect(items[0]).toHaveAttribute('data-toast-id', 'update-available-2.1.0');
  });

  it('opens the dialog from View', async () => {
    const user = userEvent.setup();
    const { bridge } = renderApp();
    bridge.emit({ type: 'available', update: updateInfo({ releaseNotes: '## Fixes\n\n- Faster start-up' }) });

    await user.click(within(toasts()[0]!).getByRole('button', { name: 'View' }));

    const dialog = await screen.findByRole('dialog', { name: 'Backend 2.1.0' });
    expect(await within(dialog).findByRole('heading', { name: 'Fixes' })).toBeInTheDocument();
    expect(within(dialog).getByText('Faster start-up')).toBeInTheDocument();
    expect(toasts()).toHaveLength(0);
  });

  it('closes when View update opens the dialog', async () => {
    const user = userEvent.setup();
    const { bridge } = renderApp();
    bridge.emit({ type: 'available', update: updateInfo() });
    expect(toasts()).toHaveLength(1);

    await user.click(screen.getByRole('button', { name: 'View update' }));

    expect(await screen.findByRole('dialog', { name: 'Backend 2.1.0' })).toBeInTheDocument();
    expect(toasts()).toHaveLength(0);
    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());

    // Viewing the update starts the cooldown, as Dismiss does.
    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
    bridge.emit({ type: 'available', update: updateInfo() });
    expect(toasts()).toHaveLength(0);
  });

  it.each([
    ['a download starts', downloading(5)],
    ['the update is downloaded', { type: 'downloaded', update: updateInfo(), sha256: 'ab'.repeat(32) }],
    ['the update is installed', { type: 'installed', version: '2.1.0', previousVersion: '2.0.0' }],
    ['the feed no longer offers it', { type: 'not-available', currentVersion: '2.0.0', latestVersion: '2.0.0', reason: 'up-to-date' }],
    ['a check fails', { type: 'error', error: { code: 'NETWORK', message: 'Feed unreachable.', retryable: true }, during: 'checking' }],
  ] satisfies Array<[string, UpdateStateInput]>)('closes itself when %s', async (_case, next) => {
    const { bridge } = renderApp();
    bridge.emit({ type: 'available', update: updateInfo() });
    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
    expect(toasts()).toHaveLength(1);

    bridge.emit(next);

    expect(toasts()).toHaveLength(0);
  });

  it('replaces the toast for a newer version', () => {
    const { bridge } = renderApp();
    bridge.emit({ type: 'available', update: updateInfo({ version: '2.1.0' }) });

    bridge.emit({ type: 'available', update: updateInfo({ version: '2.2.0' }) });

    expect(toasts()).toHaveLength(1);
    expect(toasts()[0]).toHaveAttribute('data-toast-id', 'update-available-2.2.0');
  });

  it('offers a withdrawn version again', () => {
    const { bridge } = renderApp();
    bridge.emit({ type: 'available', update: updateInfo() });
    // Another client starts the download and cancels it, and the user never closed the toast.
    bridge.emit(downloading(5));
    expect(toasts()).toHaveLength(0);

    bridge.emit({ type: 'available', update: updateInfo() });

    expect(toasts()).toHaveLength(1);
  });

  it('takes focus after a manual check', async () => {
    const user = userEvent.setup();
    const bridge = new StubBridge();
    bridge.handlers.check = async () => {
      bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
      bridge.emit({ type: 'available', update: updateInfo() });
      return ok(updateFound());
    };
    renderApp({ bridge });
    const checkButton = screen.getByRole('button', { name: 'Check for updates' });
    await user.tab();
    expect(checkButton).toHaveFocus();

    await user.keyboard('{Enter}');

    await waitFor(() => expect(within(toasts()[0]!).getByRole('button', { name: 'View' })).toHaveFocus());
    await user.keyboard('{Enter}');
    const dialog = await screen.findByRole('dialog', { name: 'Backend 2.1.0' });
    expect(toasts()).toHaveLength(0);
    expect(within(dialog).getByRole('button', { name: 'Download' })).toHaveFocus();

    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    await waitFor(() => expect(checkButton).toHaveFocus());
  });

  it('leaves focus alone for automatic toasts', async () => {
    const user = userEvent.setup();
    const { bridge } = renderApp();
    await user.tab();
    const checkButton = screen.getByRole('button', { name: 'Check for updates' });
    expect(checkButton).toHaveFocus();

    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
    bridge.emit({ type: 'available', update: updateInfo() });

    expect(toasts()).toHaveLength(1);
    expect(checkButton).toHaveFocus();
  });

  it('returns focus to Check after Dismiss', async () => {
    const user = userEvent.setup();
    const { bridge } = renderApp();
    bridge.emit({ type: 'available', update: updateInfo() });
    const dismiss = within(toasts()[0]!).getByRole('button', { name: /dismiss/i });
    dismiss.focus();

    await user.keyboard('{Enter}');

    expect(toasts()).toHaveLength(0);
    expect(screen.getByRole('button', { name: 'Check for updates' })).toHaveFocus();
  });

  it('offers the pending update to a late window', async () => {
    const bridge = new StubBridge();
    bridge.state = { type: 'available', seq: 7, update: updateInfo() };

    renderApp({ bridge });

    await waitFor(() => expect(toasts()).toHaveLength(1));
  });

  it('shows one toast per version', async () => {
    const user = userEvent.setup();
    let now = Date.parse('2025-03-01T09:00:00Z');
    const storage = createMemoryStorage();
    const { bridge } = renderApp({ now: () => now, storage });
    await waitFor(() => expect(bridge.calls.getState).toBeGreaterThan(0));
    const v210 = updateInfo({ version: '2.1.0' });

    // The automatic check at start-up, then three interval checks, each finding 2.1.0 again.
    for (let check = 0; check < 4; check += 1) {
      bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
      bridge.emit({ type: 'available', update: v210 });
      now += HOUR;
    }
    expect(toasts()).toHaveLength(1);

    // A manual check while the toast shows opens the dialog instead of a second toast.
    bridge.handlers.check = async () => {
      bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
      bridge.emit({ type: 'available', update: v210 });
      return ok(updateFound(v210));
    };
    // The dialog shows the same update, so the toast closes and its cooldown starts.
    await user.click(screen.getByRole('button', { name: 'Check for updates' }));
    expect(await screen.findByRole('dialog', { name: 'Backend 2.1.0' })).toBeInTheDocument();
    expect(toasts()).toHaveLength(0);
    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());

    // Checks go on, but 2.1.0 stays quiet during the cooldown.
    now += 2 * HOUR;
    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
    bridge.emit({ type: 'available', update: v210 });
    expect(toasts()).toHaveLength(0);

    now += HOUR;
    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
    bridge.emit({ type: 'available', update: updateInfo({ version: '2.2.0' }) });
    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
    bridge.emit({ type: 'available', update: updateInfo({ version: '2.2.0' }) });
    expect(toasts()).toHaveLength(1);
    expect(toasts()[0]).toHaveAttribute('data-toast-id', 'update-available-2.2.0');
  });

  it('toasts again after the cooldown', async () => {
    const user = userEvent.setup();
    let now = Date.parse('2025-03-01T09:00:00Z');
    const { bridge } = renderApp({ now: () => now });
    bridge.emit({ type: 'available', update: updateInfo() });
    await user.click(within(toasts()[0]!).getByRole('button', { name: /dismiss/i }));

    now += TOAST_COOLDOWN_MS - 1;
    bridge.emit({ type: 'available', update: updateInfo() });
    expect(toasts()).toHaveLength(0);

    now += 1;
    bridge.emit({ type: 'available', update: updateInfo() });
    expect(toasts()).toHaveLength(1);
  });

  it('remembers a dismissal across reloads', async () => {
    const user = userEvent.setup();
    const now = Date.parse('2025-03-01T09:00:00Z');
    const storage = createMemoryStorage();
    const first = renderApp({ now: () => now, storage });
    first.bridge.emit({ type: 'available', update: updateInfo() });
    await user.click(within(toasts()[0]!).getByRole('button', { name: /dismiss/i }));
    first.unmount();

    const second = renderApp({ now: () => now + HOUR, storage });
    second.bridge.emit({ type: 'available', update: updateInfo() });

    expect(toasts()).toHaveLength(0);
  });
});
