import { createStore, type StoreApi } from 'zustand/vanilla';
import { createJSONStorage, persist, type StateStorage } from 'zustand/middleware';

/** Time after closing an update toast before the same version may toast again. */
export const TOAST_COOLDOWN_MS = 24 * 60 * 60_000;

/** Returns the stable id of the "update available" toast for one version. */
export function toastIdFor(version: string): string {
  return `update-available-${version}`;
}

/** Toast and dialog state of the update UI. */
export interface NoticeStore {
  /** Version whose "update available" toast is open, or null. */
  toastVersion: string | null;
  dialogOpen: boolean;
  /** True while a check that the user started runs; automatic toasts wait, and its own result shows instead. */
  manualCheckPending: boolean;
  /** True when the open toast should take keyboard focus once it renders, because a user-started check found it. */
  toastFocusRequested: boolean;
  /** Wall-clock time at which each version's toast was last closed. */
  closedToasts: Record<string, number>;
  /** Opens the toast for `version` unless it is open, the dialog is open, or it was closed within the cooldown. */
  offerToast(version: string): void;
  /**
   * Shows the update that a user-started check found, whatever its cooldown:
   * opens its toast with focus on View, or opens the dialog when that toast
   * already shows.
   */
  presentFoundUpdate(version: string): void;
  /** Closes the open toast and starts its cooldown. */
  closeToast(): void;
  /** Closes the open toast without a cooldown, because its version is no longer offered. */
  withdrawToast(): void;
  clearToastFocusRequest(): void;
  /** Opens the dialog. It shows the same update as the toast, so an open toast closes and its cooldown starts. */
  openDialog(): void;
  closeDialog(): void;
  setManualCheckPending(pending: boolean): void;
}

export interface NoticeStoreOptions {
  now?: () => number;
  /** Keeps closed-toast times across reloads; `localStorage` by default. */
  storage?: StateStorage;
}

const STORAGE_KEY = 'backend-updater.notices';

/** Creates the toast and dialog store; closed-toast times persist in `storage`. */
export function createNoticeStore(options: NoticeStoreOptions = {}): StoreApi<NoticeStore> {
  const now = options.now ?? (() => Date.now());
  const storage = options.storage ?? globalThis.localStorage;

  const isCoolingDown = (closedAt: number | undefined): boolean =>
    closedAt !== undefined && Math.abs(now() - closedAt) < TOAST_COOLDOWN_MS;

  return createStore<NoticeStore>()(
    persist(
      (set, get) => ({
        toastVersion: null,
        dialogOpen: false,
        manualCheckPending: false,
        toastFocusRequested: false,
        closedToasts: {},
        offerToast: (version) => {
          const current = get();
          if (current.toastVersion === version || current.dialogOpen || current.manualCheckPending) return;
          if (isCoolingDown(current.closedToasts[version])) return;
          set({ toastVersion: version });
        },
        presentFoundUpdate: (version) => {
          const current = get();
          if (current.dialogOpen) return;
          if (current.toastVersion === version) current.openDialog();
          else set({ toastVersion: version, toastFocusRequested: true });
        },
        closeToast: () => {
          const { toastVersion, closedToasts } = get();
          if (toastVersion === null) return;
          // Entries past their cooldown no longer matter, so they are dropped here.
          const recent = Object.entries(closedToasts).filter(([, closedAt]) => isCoolingDown(closedAt));
          set({
            toastVersion: null,
            toastFocusRequested: false,
            closedToasts: { ...Object.fromEntries(recent), [toastVersion]: now() },
          });
        },
        withdrawToast: () => {
          if (get().toastVersion !== null) set({ toastVersion: null, toastFocusRequested: false });
        },
        clearToastFocusRequest: () => set({ toastFocusRequested: false }),
        openDialog: () => {
          get().closeToast();
          set({ dialogOpen: true });
        },
        closeDialog: () => set({ dialogOpen: false }),
        setManualCheckPending: (pending) => set({ manualCheckPending: pending }),
      }),
      {
        name: STORAGE_KEY,
        storage: createJSONStorage(() => storage),
        partialize: (state) => ({ closedToasts: state.closedToasts }),
      },
    ),
  );
}
