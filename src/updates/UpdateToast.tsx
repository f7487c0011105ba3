import { Toast } from 'radix-ui';
import type { ReactNode } from 'react';
import { useNotices } from './context';
import { toastIdFor } from './notices';

/**
 * Shows the "update available" toast. It stays until the user closes it or opens
 * the update with View; either starts the version's cooldown.
 */
export function UpdateToast(): ReactNode {
  const version = useNotices((store) => store.toastVersion);
  const closeToast = useNotices((store) => store.closeToast);
  const openDialog = useNotices((store) => store.openDialog);
  if (!version) return null;

  const id = toastIdFor(version);
  return (
    <Toast.Root
      key={id}
      data-toast-id={id}
      className="toast"
      type="background"
      duration={Infinity}
      open
      onOpenChange={(open) => {
        if (!open) closeToast();
      }}
    >
      <Toast.Title className="toast-title">Backend {version} is available</Toast.Title>
      <Toast.Description className="toast-description">See what changed, then download and install it.</Toast.Description>
      <Toast.Action altText={`View backend ${version}`} asChild>
        <button type="button" className="primary" onClick={openDialog}>
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
