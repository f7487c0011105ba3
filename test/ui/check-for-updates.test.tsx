// @vitest-environment jsdom
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { CheckResult } from '../../main/updater/service';
import type { BridgeResult } from '../../preload/api';
import { createUpdatesClient } from '../../src/updates/client';
import { VERSION_QUERY_KEY } from '../../src/updates/query-keys';
import { failure, ok, renderApp, StubBridge, updateFound, updateInfo } from './render';

const FOUR_HOURS = 4 * 60 * 60_000;

function updatesCard(): HTMLElement {
  return screen.getByRole('region', { name: 'Updates' });
}

function setVisibility(state: 'visible' | 'hidden'): void {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
  Object.defineProperty(document, 'hidden', { value: state === 'hidden', configurable: true });
  document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
}

function toggleFocus(): void {
  window.dispatchEvent(new FocusEvent('blur'));
  window.dispatchEvent(new FocusEvent('focus'));
  setVisibility('visible');
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

describe('CheckButton', () => {
  afterEach(() => {
    setVisibility('visible');
  });

  it('reports an up-to-date backend', async () => {
    const user = userEvent.setup();
    const bridge = new StubBridge();
    bridge.handlers.check = async () => {
      bridge.emit({ type: 'checking', currentVersion: '2.1.0' });
      bridge.emit({ type: 'not-available', currentVersion: '2.1.0', latestVersion: '2.1.0', reason: 'up-to-date' });
      return ok<CheckResult>({ updateAvailable: false, currentVersion: '2.1.0', latestVersion: '2.1.0', update: null });
    };
    renderApp({ bridge });

    await user.click(screen.getByRole('button', { name: 'Check for updates' }));

    expect(await screen.findByText("You're up to date (2.1.0)")).toBeInTheDocument();
    expect(bridge.calls.check).toBe(1);
  });

  it('reports a feed without eligible releases', () => {
    const { bridge } = renderApp();

    bridge.emit({ type: 'not-available', currentVersion: '2.0.0', latestVersion: null, reason: 'no-eligible-release' });

    expect(updatesCard()).toHaveTextContent('No eligible release in the feed (2.0.0 installed)');
  });

  it('drops the found update after install', async () => {
    const user = userEvent.setup();
    const bridge = new StubBridge();
    bridge.handlers.check = async () => {
      bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
      bridge.emit({ type: 'available', update: updateInfo() });
      return ok(updateFound());
    };
    renderApp({ bridge });
    await user.click(screen.getByRole('button', { name: 'Check for updates' }));
    await waitFor(() => expect(updatesCard()).toHaveTextContent('Backend 2.1.0 is available.'));

    bridge.emit({ type: 'downloaded', update: updateInfo(), sha256: 'ab'.repeat(32) });
    bridge.emit({ type: 'installing', update: updateInfo() });
    bridge.emit({ type: 'restarting', update: updateInfo() });
    bridge.emit({ type: 'installed', version: '2.1.0', previousVersion: '2.0.0' });

    expect(updatesCard()).not.toHaveTextContent('available');
    expect(within(updatesCard()).getAllByRole('button').map((button) => button.textContent)).toEqual(['Check for updates']);
  });

  it('clears a failure on the next state', async () => {
    const user = userEvent.setup();
    const bridge = new StubBridge();
    bridge.handlers.check = async () => failure({ code: 'BUSY', message: 'Cannot check for updates now: the updater is busy.', retryable: true });
    renderApp({ bridge });
    await user.click(screen.getByRole('button', { name: 'Check for updates' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Cannot check for updates now');

    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
    bridge.emit({ type: 'not-available', currentVersion: '2.0.0', latestVersion: '2.0.0', reason: 'up-to-date' });

    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    expect(updatesCard()).toHaveTextContent("You're up to date (2.0.0)");
  });

  it('shows a failed check once', async () => {
    const user = userEvent.setup();
    const bridge = new StubBridge();
    const error = { code: 'NETWORK', message: 'Could not reach 127.0.0.1:9: ECONNREFUSED.', retryable: true } as const;
    bridge.handlers.check = async () => {
      bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
      bridge.emit({ type: 'error', error, during: 'checking' });
      return failure(error);
    };
    renderApp({ bridge });

    await user.click(screen.getByRole('button', { name: 'Check for updates' }));

    await waitFor(() => expect(updatesCard()).toHaveTextContent('Checking for updates failed: Could not reach 127.0.0.1:9: ECONNREFUSED.'));
    expect(within(updatesCard()).getAllByText(/ECONNREFUSED/)).toHaveLength(1);
  });

  it('keeps focus while checking', async () => {
    const user = userEvent.setup();
    const bridge = new StubBridge();
    const pending = deferred<BridgeResult<CheckResult>>();
    bridge.handlers.check = () => pending.promise;
    renderApp({ bridge });
    await user.tab();

    await user.keyboard('{Enter}');
    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });

    const button = screen.getByRole('button', { name: 'Checking for updates…' });
    expect(button).toHaveFocus();
    expect(button).toHaveAttribute('aria-disabled', 'true');
    await user.keyboard('{Enter}');
    expect(bridge.calls.check).toBe(1);
    bridge.emit({ type: 'not-available', currentVersion: '2.0.0', latestVersion: '2.0.0', reason: 'up-to-date' });
    pending.resolve(ok({ updateAvailable: false, currentVersion: '2.0.0', latestVersion: '2.0.0', update: null }));
    expect(await screen.findByRole('button', { name: 'Check for updates' })).toHaveFocus();
  });

  it('shows the toast for a found update', async () => {
    const user = userEvent.setup();
    const bridge = new StubBridge();
    bridge.handlers.check = async () => {
      bridge.emit({ type: 'available', update: updateInfo() });
      return ok(updateFound());
    };
    renderApp({ bridge });

    await user.click(screen.getByRole('button', { name: 'Check for updates' }));

    const region = screen.getByRole('region', { name: /notifications/i, hidden: true });
    await waitFor(() => expect(region.querySelectorAll('li')).toHaveLength(1));
    expect(region.textContent).toContain('Backend 2.1.0 is available');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it('reports a failed check', async () => {
    const user = userEvent.setup();
    const bridge = new StubBridge();
    bridge.handlers.check = async () => failure({ code: 'NETWORK', message: 'Could not reach api.example: ENOTFOUND.', retryable: true });
    renderApp({ bridge });

    await user.click(screen.getByRole('button', { name: 'Check for updates' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('Checking for updates failed: Could not reach api.example: ENOTFOUND.');
  });

  it('is disabled during an automatic check', async () => {
    const { bridge } = renderApp();
    await waitFor(() => expect(bridge.calls.getState).toBeGreaterThan(0));

    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });

    expect(screen.getByRole('button', { name: 'Checking for updates…' })).toHaveAttribute('aria-disabled', 'true');
    bridge.emit({ type: 'not-available', currentVersion: '2.0.0', latestVersion: '2.0.0', reason: 'up-to-date' });
    expect(screen.getByRole('button', { name: 'Check for updates' })).toHaveAttribute('aria-disabled', 'false');
  });

  it('ignores focus and visibility changes', async () => {
    const user = userEvent.setup();
    const bridge = new StubBridge();
    const manual = deferred<BridgeResult<CheckResult>>();
    bridge.handlers.check = () => manual.promise;
    const { queryClient } = renderApp({ bridge, checkIntervalMs: FOUR_HOURS });
    await waitFor(() => expect(bridge.calls.getVersion).toBe(1));

    // The main process's automatic check: 2 s of `checking`, then its result.
    bridge.emit({ type: 'checking', currentVersion: '2.0.0' });
    for (let toggle = 0; toggle < 5; toggle += 1) act(toggleFocus);
    bridge.emit({ type: 'not-available', currentVersion: '2.0.0', latestVersion: '2.0.0', reason: 'up-to-date' });
    for (let toggle = 0; toggle < 12; toggle += 1) act(toggleFocus);

    await user.click(screen.getByRole('button', { name: 'Check for updates' }));
    for (let toggle = 0; toggle < 3; toggle += 1) act(toggleFocus);
    await user.click(screen.getByRole('button', { name: 'Checking for updates…' }));
    manual.resolve(ok({ updateAvailable: false, currentVersion: '2.0.0', latestVersion: '2.0.0', update: null }));
    await screen.findByText("You're up to date (2.0.0)");
    for (let hidden = 0; hidden < 5; hidden += 1) act(() => setVisibility('hidden'));

    expect(bridge.calls.check).toBe(1);
    expect(bridge.calls.getVersion).toBe(1);
    const observer = queryClient.getQueryCache().find({ queryKey: VERSION_QUERY_KEY })?.observers[0];
    expect(observer?.options).toMatchObject({ refetchOnWindowFocus: false, retry: false });
    expect(observer?.options.staleTime).toBeGreaterThanOrEqual(FOUR_HOURS);
    expect(queryClient.getDefaultOptions().mutations?.retry).toBe(false);
  });
});

describe('createUpdatesClient', () => {
  it('shares one check among callers', async () => {
    const bridge = new StubBridge();
    const pending = deferred<BridgeResult<CheckResult>>();
    bridge.handlers.check = () => pending.promise;
    const client = createUpdatesClient(bridge.api, () => null);

    const first = client.check();
    const second = client.check();
    pending.resolve(ok(updateFound()));

    expect(second).toBe(first);
    await expect(first).resolves.toMatchObject({ updateAvailable: true });
    expect(bridge.calls.check).toBe(1);
    void client.check();
    expect(bridge.calls.check).toBe(2);
  });

  it('throws envelope errors with their code', async () => {
    const bridge = new StubBridge();
    bridge.handlers.install = async () => failure({ code: 'CHECKSUM_MISMATCH', details: { expected: 'ba78', actual: '0000' } });
    const client = createUpdatesClient(bridge.api, () => null);

    await expect(client.install()).rejects.toMatchObject({
      name: 'BridgeError',
      code: 'CHECKSUM_MISMATCH',
      details: { expected: 'ba78', actual: '0000' },
    });
  });
});
