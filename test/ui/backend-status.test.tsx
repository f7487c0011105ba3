// @vitest-environment jsdom
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { failure, ok, renderApp, StubBridge, versionInfo } from './render';

describe('BackendStatus', () => {
  it('shows the version and that it runs', async () => {
    renderApp();

    const list = await screen.findByLabelText('Backend status');
    expect(within(list).getByText('2.0.0')).toBeInTheDocument();
    expect(within(list).getByText('Running')).toBeInTheDocument();
    expect(within(list).getByText('8765')).toBeInTheDocument();
    expect(screen.getByRole('heading', { level: 1, name: 'Backend Updater' })).toBeInTheDocument();
  });

  it('shows a stopped backend', async () => {
    const bridge = new StubBridge();
    bridge.handlers.getVersion = async () =>
      ok(versionInfo({ currentVersion: null, backend: { running: false, healthy: false, pid: null, port: 8765, version: null } }));
    renderApp({ bridge });

    const list = await screen.findByLabelText('Backend status');
    expect(within(list).getByText('Not installed')).toBeInTheDocument();
    expect(within(list).getByText('Stopped')).toBeInTheDocument();
  });

  it('offers another try after a failure', async () => {
    const user = userEvent.setup();
    const bridge = new StubBridge();
    bridge.handlers.getVersion = async () => failure({ code: 'NETWORK', message: 'Could not reach the Update API.' });
    renderApp({ bridge });

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not read the backend status: Could not reach the Update API.');
    bridge.handlers.getVersion = async () => ok(versionInfo());
    await user.click(within(alert).getByRole('button', { name: 'Try again' }));

    expect(await screen.findByLabelText('Backend status')).toHaveTextContent('Running');
  });
});
