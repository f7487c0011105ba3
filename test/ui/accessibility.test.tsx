// @vitest-environment jsdom
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import axe from 'axe-core';
import { downloading, renderApp, unsignedSignature, updateInfo } from './render';

/** Runs axe on the page; jsdom does not lay out or paint, so contrast cannot be measured. */
async function violations(): Promise<string[]> {
  const results = await axe.run(document.body, { rules: { 'color-contrast': { enabled: false } } });
  return results.violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.html).join(' | ')}`);
}

describe('update UI accessibility', () => {
  it('has no violations on the main screen', async () => {
    const { bridge } = renderApp();
    await screen.findByLabelText('Backend status');
    bridge.emit({ type: 'available', update: updateInfo() });

    expect(await violations()).toEqual([]);
  });

  it('has no violations in the dialog', async () => {
    const user = userEvent.setup();
    const { bridge } = renderApp();
    await screen.findByLabelText('Backend status');
    bridge.emit({ type: 'available', update: updateInfo() });
    await user.click(screen.getByRole('button', { name: 'View update' }));
    await screen.findByRole('dialog');
    bridge.emit(downloading(42));

    await waitFor(() => expect(screen.getByRole('progressbar')).toBeInTheDocument());
    expect(await violations()).toEqual([]);
  });

  it('has no violations with the unsigned warning', async () => {
    const user = userEvent.setup();
    const { bridge } = renderApp();
    await screen.findByLabelText('Backend status');
    bridge.emit({ type: 'available', update: updateInfo({ signature: unsignedSignature() }) });
    await user.click(screen.getByRole('button', { name: 'View update' }));
    await screen.findByRole('note', { name: 'This release is not signature-checked.' });

    expect(await violations()).toEqual([]);
  });

  it('reaches every control by keyboard', async () => {
    const user = userEvent.setup();
    const { bridge } = renderApp();
    await screen.findByLabelText('Backend status');
    bridge.emit({ type: 'available', update: updateInfo() });

    await user.tab();
    expect(screen.getByRole('button', { name: 'Check for updates' })).toHaveFocus();
    await user.tab();
    expect(screen.getByRole('button', { name: 'View update' })).toHaveFocus();
    await user.keyboard('{Enter}');

    const dialog = await screen.findByRole('dialog', { name: 'Backend 2.1.0' });
    expect(dialog).toContainElement(document.activeElement as HTMLElement);
    await user.tab();
    await user.tab();
    expect(dialog).toContainElement(document.activeElement as HTMLElement);
  });
});
