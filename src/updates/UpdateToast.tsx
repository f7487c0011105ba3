import { Toast } from 'radix-ui';
import { useEffect, useRef, type ReactNode } from 'react';
import { useNotices } from './context';
import { focusCheckButton } from './focus';
import { toastIdFor } from './notices';

/**
 * Shows the "update available" toast. It stays until the user closes it, opens
 * the update with View (either starts the version's cooldown), or the state
 * no longer offers its version. A toast that a user-started check found takes
 * keyboard focus on View. When a toast that has focus closes, focus goes to
 * "Check for updates" instead of the toast region, where Radix would leave it.
 */
export function UpdateToast(): ReactNode {
  const version = useNotices((store) => store.toastVersion);
  const focusRequested = useNotices((store) => store.toastFocusRequested);
  const clearToastFocusRequest = useNotices((store) => store.clearToastFocusRequest);
  const closeToast = useNotices((store) => store.closeToast);
  const openDialog = useNotices((store) => store.openDialog);
  const root = useRef<HTMLLIElement>(null);
  const viewButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!focusRequested || !version) return;
    viewButton.current?.focus();
    clearToastFocusRequest();
  }, [focusRequested, version, clearToastFocusRequest]);

  if (!version) return null;

  const hasFocus = (): boolean => root.current?.parentElement?.contains(document.activeElement) ?? false;
  const view = (): void => {
    // Moving focus out first keeps Radix from parking it on the toast region,
    // and the dialog returns focus to where it was when the dialog opened.
    if (hasFocus()) focusCheckButton();
    openDialog();
  };

  const id = toastIdFor(version);
  return (
    <Toast.Root
      ref={root}
      key={id}
      data-toast-id={id}
      className="toast"
      type="background"
      duration={Infinity}
      open
      onOpenChange={(open) => {
        if (open) return;
        if (hasFocus()) focusCheckButton();
        closeToast();
      }}
    >
      <Toast.Title className="toast-title">Backend {version} is available</Toast.Title>
      <Toast.Description className="toast-description">See what changed, then download and install it.</Toast.Description>
      <Toast.Action altText={`View backend ${version}`} asChild>
        <button ref={viewButton} type="button" className="primary" onClick={view}>
          View
        </button>
      </Toast.Action>
      <Toast.Close asChild>
        <button type="button" aria-label={`Dismiss the notice about backend ${version}`}>
          Dismiss
        </button>
      </Toast.Close>
    </Toast.Root>
  );
}
