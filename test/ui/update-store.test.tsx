// @vitest-environment jsdom
import { screen, waitFor } from '@testing-library/react';
import type { UpdateState } from '../../main/updater/state';
import { reduceUpdateState, type UpdateSnapshot } from '../../src/updates/store';
import { UpdateActions } from '../../src/updates/UpdateActions';
import { downloading, renderApp, StubBridge, updateInfo } from './render';

function tick(seq: number, percent: number, downloadId = 'd1'): UpdateState {
  return { ...(downloading(percent, { downloadId }) as Omit<Extract<UpdateState, { type: 'downloading' }>, 'seq'>), seq };
}

function reduceAll(states: UpdateState[]): UpdateSnapshot {
  return states.reduce(reduceUpdateState, { state: null, endedDownloads: [] });
}

/** Records the progress bar's aria-valuenow after each render, and null once the bar is gone. */
function createProgressRecorder(): { values: Array<string | null>; record(): void } {
  const values: Array<string | null> = [];
  const record = () => {
    const bar = document.querySelector('[role="progressbar"]');
    const value = bar ? bar.getAttribute('aria-valuenow') : null;
    if (values.at(-1) !== value) values.push(value);
  };
  return { values, record };
}

describe('reduceUpdateState', () => {
  it('drops a state with an older seq', () => {
    const snapshot = reduceAll([tick(1, 10), tick(3, 60), tick(2, 40)]);

    expect(snapshot.state).toMatchObject({ seq: 3, percent: 60 });
  });

  it('keeps a later phase over progress', () => {
    const downloaded: UpdateState = { type: 'downloaded', seq: 4, update: updateInfo(), sha256: 'ab'.repeat(32) };

    const snapshot = reduceAll([tick(1, 10), tick(3, 60), downloaded, tick(5, 99)]);

    expect(snapshot.state).toBe(downloaded);
  });

  it('ignores progress of an ended download', () => {
    const available: UpdateState = { type: 'available', seq: 4, update: updateInfo() };

    const snapshot = reduceAll([tick(1, 10), tick(2, 30), available, tick(5, 35)]);

    expect(snapshot.state).toBe(available);
    expect(snapshot.endedDownloads).toEqual(['d1']);
  });

  it('never lowers percent within a download', () => {
    const snapshot = reduceAll([tick(1, 50), tick(2, 45)]);

    expect(snapshot.state).toMatchObject({ seq: 2, percent: 50 });
    expect(snapshot.state).toMatchObject({ transferred: Math.round((1_048_576 * 50) / 100) });
  });

  it('lets a new download start at zero', () => {
    const available: UpdateState = { type: 'available', seq: 3, update: updateInfo() };

    const snapshot = reduceAll([tick(1, 80), available, tick(4, 0, 'd2')]);

    expect(snapshot.state).toMatchObject({ downloadId: 'd2', percent: 0 });
  });

  it('drops a duplicate seq', () => {
    const first = tick(2, 20);

    const snapshot = reduceAll([first, tick(2, 90)]);

    expect(snapshot.state).toBe(first);
  });
});

describe('download progress rendering', () => {
  it('renders out-of-order ticks in order', async () => {
    const bridge = new StubBridge();
    bridge.state = { type: 'available', seq: 0, update: updateInfo() };
    renderApp({ bridge, children: <UpdateActions /> });
    await waitFor(() => expect(bridge.calls.getState).toBeGreaterThan(0));
    const recorder = createProgressRecorder();

    // The last tick is a throttled one flushed after the phase change.
    const pushes: UpdateState[] = [
      tick(1, 10),
      tick(3, 60),
      tick(2, 40),
      { type: 'downloaded', seq: 4, update: updateInfo(), sha256: 'ab'.repeat(32) },
      tick(5, 99),
    ];
    for (const state of pushes) {
      bridge.push(state);
      recorder.record();
    }

    expect(recorder.values).toEqual(['10', '60', null]);
    expect(screen.getByRole('button', { name: 'Install and restart backend' })).toBeInTheDocument();
  });

  it('restarts the bar for a new download', async () => {
    const { bridge } = renderApp({ children: <UpdateActions /> });
    await waitFor(() => expect(bridge.calls.getState).toBeGreaterThan(0));

    bridge.push(tick(2, 80));
    bridge.push({ type: 'available', seq: 3, update: updateInfo() });
    bridge.push(tick(4, 0, 'd2'));

    expect(screen.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '0');
  });
});
