import type { ReactNode } from 'react';
import { useNotices, useUpdateState } from './context';

/**
 * One line on the main screen about the update in progress, with a button
 * that opens the dialog. A download keeps showing here after the dialog closes.
 */
export function UpdateStatusLine(): ReactNode {
  const state = useUpdateState((store) => store.state);
  const openDialog = useNotices((store) => store.openDialog);
  if (!state) return null;

  let text: string | null = null;
  let action: string | null = null;
  switch (state.type) {
    case 'available':
      text = `Backend ${state.update.version} is available.`;
      action = 'View update';
      break;
    case 'downloading':
      text = `Downloading backend ${state.update.version}${state.percent === null ? '' : `: ${Math.floor(state.percent)}%`}`;
      action = 'Show progress';
      break;
    case 'downloaded':
      text = `Backend ${state.update.version} is downloaded and ready to install.`;
      action = 'Install…';
      break;
    case 'installing':
    case 'restarting':
      text = `Installing backend ${state.update.version}…`;
      action = 'Show progress';
      break;
    case 'error': {
      const title = state.during === 'checking' ? 'Checking for updates failed' : 'The update failed';
      text = `${title}: ${state.error.message}`;
      action = state.update ? 'Show details' : null;
      break;
    }
    default:
      return null;
  }
  return (
    <div className="update-status-line">
      <p>{text}</p>
      {action ? (
        <button type="button" onClick={openDialog}>
          {action}
        </button>
      ) : null}
    </div>
  );
}
