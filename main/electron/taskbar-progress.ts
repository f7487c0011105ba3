import type { UpdaterService } from '../updater/service';
import type { UpdateState } from '../updater/state';

/** A window with a taskbar or dock progress bar; Electron's BrowserWindow satisfies it. */
export interface ProgressWindow {
  isDestroyed(): boolean;
  setProgressBar(progress: number): void;
}

/** Electron shows an indeterminate bar for values above 1 and removes it below 0. */
const INDETERMINATE = 2;
const REMOVED = -1;

function progressValue(state: UpdateState): number | null {
  if (state.type !== 'downloading') return null;
  if (state.percent === null) return INDETERMINATE;
  return Math.floor(state.percent) / 100;
}

/**
 * Mirrors download progress on the windows' taskbar or dock icon and removes
 * the bar when the download ends. Returns the function that stops mirroring.
 */
export function mirrorProgressToTaskbar(deps: {
  updater: Pick<UpdaterService, 'onState'>;
  getWindows(): readonly ProgressWindow[];
}): () => void {
  let shownValue: number | null = null;
  const apply = (value: number): void => {
    for (const window of deps.getWindows()) {
      if (!window.isDestroyed()) window.setProgressBar(value);
    }
  };
  return deps.updater.onState((state) => {
    const value = progressValue(state);
    if (value === shownValue) return;
    shownValue = value;
    apply(value ?? REMOVED);
  });
}
