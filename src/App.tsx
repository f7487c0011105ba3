import { Toast } from 'radix-ui';
import type { ReactNode } from 'react';
import { BackendStatus } from './updates/BackendStatus';
import { CheckButton } from './updates/CheckButton';
import { UpdateDialog } from './updates/UpdateDialog';
import { UpdateStatusLine } from './updates/UpdateStatusLine';
import { UpdateToast } from './updates/UpdateToast';

/** The main screen: backend status, update controls, the update dialog and toasts. */
export function App(): ReactNode {
  return (
    <Toast.Provider swipeDirection="right" label="Notifications">
      <main className="app">
        <header>
          <h1>Backend Updater</h1>
        </header>
        <section aria-labelledby="backend-heading" className="card">
          <h2 id="backend-heading">Backend</h2>
          <BackendStatus />
        </section>
        <section aria-labelledby="updates-heading" className="card">
          <h2 id="updates-heading">Updates</h2>
          <CheckButton />
          <UpdateStatusLine />
        </section>
      </main>
      <UpdateDialog />
      <UpdateToast />
      <Toast.Viewport className="toast-viewport" />
    </Toast.Provider>
  );
}
