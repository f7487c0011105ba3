import type { MenuItemConstructorOptions } from 'electron';
import type { UpdaterService } from '../updater/service';

/** Id of the "Check for Updates…" item, for `menu.getMenuItemById`. */
export const CHECK_FOR_UPDATES_ID = 'check-for-updates';

/** The static part of Electron's Menu that the app menu uses. */
export interface MenuApi<M> {
  buildFromTemplate(template: MenuItemConstructorOptions[]): M;
  setApplicationMenu(menu: M | null): void;
}

export interface AppMenuInput {
  appName: string;
  platform: NodeJS.Platform;
  /** True while a check runs, so the item is disabled and its label shows the running check. */
  checking: boolean;
  onCheckForUpdates(): void;
}

/** Builds the menu template; macOS puts the update item in the app menu, other systems in Help. */
export function buildAppMenuTemplate(input: AppMenuInput): MenuItemConstructorOptions[] {
  const checkItem: MenuItemConstructorOptions = {
    id: CHECK_FOR_UPDATES_ID,
    label: input.checking ? 'Checking for Updates…' : 'Check for Updates…',
    enabled: !input.checking,
    click: () => input.onCheckForUpdates(),
  };
  if (input.platform === 'darwin') {
    return [
      {
        label: input.appName,
        submenu: [
          { role: 'about' },
          checkItem,
          { type: 'separator' },
          { role: 'services' },
          { type: 'separator' },
          { role: 'hide' },
          { role: 'hideOthers' },
          { role: 'unhide' },
          { type: 'separator' },
          { role: 'quit' },
        ],
      },
      { role: 'editMenu' },
      { role: 'viewMenu' },
      { role: 'windowMenu' },
    ];
  }
  return [
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    { role: 'help', submenu: [checkItem] },
  ];
}

/**
 * Sets the application menu and rebuilds it whenever the updater enters or
 * leaves `checking`, because a built menu item's label cannot be changed on
 * every platform. Returns the function that stops following the updater.
 */
export function installAppMenu<M>(input: {
  Menu: MenuApi<M>;
  appName: string;
  platform: NodeJS.Platform;
  updater: Pick<UpdaterService, 'getState' | 'onState'>;
  onCheckForUpdates(): void;
}): () => void {
  let checking: boolean | null = null;
  const apply = (next: boolean): void => {
    if (next === checking) return;
    checking = next;
    const template = buildAppMenuTemplate({ ...input, checking: next });
    input.Menu.setApplicationMenu(input.Menu.buildFromTemplate(template));
  };
  apply(input.updater.getState().type === 'checking');
  return input.updater.onState((state) => apply(state.type === 'checking'));
}
