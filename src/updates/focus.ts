import { useEffect, useLayoutEffect, useRef } from 'react';

/** Id of the "Check for updates" button, where focus goes when the control that had it disappears. */
export const CHECK_BUTTON_ID = 'check-for-updates';

/** Attribute that marks the button of the step's main command in the update dialog, which takes focus. */
export const PRIMARY_ACTION_ATTRIBUTE = 'data-primary-action';

/** Attribute that marks the dialog's Close button. */
export const DIALOG_CLOSE_ATTRIBUTE = 'data-dialog-close';

/** Moves keyboard focus to the "Check for updates" button. Returns false when the button is not on the page. */
export function focusCheckButton(): boolean {
  const button = document.getElementById(CHECK_BUTTON_ID);
  if (!button) return false;
  button.focus();
  return true;
}

/** Focuses the button of the step's main command, or Close when the step has none that is enabled. */
function focusStepControl(content: HTMLElement): void {
  const primary = content.querySelector<HTMLElement>(`[${PRIMARY_ACTION_ATTRIBUTE}]:not([aria-disabled='true'])`);
  const close = content.querySelector<HTMLElement>(`[${DIALOG_CLOSE_ATTRIBUTE}]`);
  (primary ?? close)?.focus();
}

/**
 * Manages keyboard focus in the dialog. On open it goes to the step's main
 * command (Download, Install) or to Close. When the focused button disappears
 * because the step changed, focus moves the same way instead of staying on
 * the dialog itself. On close it returns to the control that opened the
 * dialog, or to "Check for updates" when that control is gone, such as a
 * closed toast. Radix returns focus only to a Dialog.Trigger, and this dialog
 * opens from several places.
 */
export function useDialogFocus(open: boolean, step: string | null) {
  const content = useRef<HTMLDivElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const mounted = useRef(false);

  // Radix calls onCloseAutoFocus from a timer, which can fire after this component unmounted.
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  // Layout effects run before Radix moves focus into the dialog, so the opener is still focused here.
  useLayoutEffect(() => {
    if (!open) return;
    const active = document.activeElement;
    opener.current = active instanceof HTMLElement && active !== document.body ? active : null;
  }, [open]);

  useEffect(() => {
    const element = content.current;
    if (!open || !element) return;
    const active = document.activeElement;
    if (active && active !== document.body && active !== element) return;
    focusStepControl(element);
  }, [open, step]);

  const onOpenAutoFocus = (event: Event): void => {
    if (!content.current) return;
    event.preventDefault();
    focusStepControl(content.current);
  };
  const onCloseAutoFocus = (event: Event): void => {
    const element = opener.current;
    opener.current = null;
    event.preventDefault();
    if (!mounted.current) return;
    if (element?.isConnected) element.focus();
    else focusCheckButton();
  };
  return { content, onOpenAutoFocus, onCloseAutoFocus };
}
