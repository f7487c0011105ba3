import type { Logger } from '../logger';
import type { UpdateInfo } from '../updater/state';

/** The part of Electron's Notification that the notifier uses. */
export interface NotificationLike {
  on(event: 'click' | 'close', listener: () => void): unknown;
  show(): void;
}

export interface UpdateNotifierDeps {
  isSupported(): boolean;
  create(options: { title: string; body: string }): NotificationLike;
  /** Runs when the user clicks a notification, usually to show the main window. */
  onClick(): void;
  logger: Logger;
}

/** Shows a native notification for an update found in the background. */
export interface UpdateNotifier {
  /** Shows one notification per version and session; later calls for the same version do nothing. */
  notifyAvailable(update: UpdateInfo): void;
}

/** Creates the notifier for background checks. */
export function createUpdateNotifier(deps: UpdateNotifierDeps): UpdateNotifier {
  const notified = new Set<string>();
  // Electron drops the click handler of a notification that was garbage collected.
  const visible = new Set<NotificationLike>();

  return {
    notifyAvailable(update) {
      if (notified.has(update.version)) return;
      notified.add(update.version);
      if (!deps.isSupported()) {
        deps.logger.info(`update ${update.version} found; notifications are not supported here`);
        return;
      }
      const notification = deps.create({
        title: 'Backend update available',
        body: `Backend ${update.version} is available. Open the app to download and install it.`,
      });
      visible.add(notification);
      notification.on('click', () => {
        visible.delete(notification);
        deps.onClick();
      });
      notification.on('close', () => visible.delete(notification));
      notification.show();
      deps.logger.info(`notification shown for update ${update.version}`);
    },
  };
}
