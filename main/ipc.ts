import { z } from 'zod';
import {
  UPDATE_CHANNELS,
  UPDATE_COMMANDS,
  type BridgeResult,
  type UpdateCommand,
  type UpdateCommandResults,
} from '../preload/api';
import { StateBroadcaster, type PushTarget, type StateBroadcasterOptions } from './electron/state-broadcast';
import type { SenderFrame } from './electron/url-policy';
import type { Logger } from './logger';
import { toErrorData, UpdateError, type UpdateErrorData } from './updater/errors';
import type { UpdaterService } from './updater/service';

/** The part of an `ipcMain.handle` event that the handlers read. */
export interface InvokeEvent {
  readonly senderFrame: SenderFrame | null;
}

/** The part of Electron's ipcMain that registration uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEvent, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export interface UpdateIpcDeps {
  ipcMain: IpcMainLike;
  updater: UpdaterService;
  /** True for frames that show the app's own page; see createUrlPolicy. */
  isTrustedSender(frame: SenderFrame | null): boolean;
  /** Returns the windows to push states to, at send time (`BrowserWindow.getAllWindows`). */
  getWindows(): readonly PushTarget[];
  logger: Logger;
  /** Minimum time between two progress pushes. @default 250 */
  throttleMs?: number;
  timers?: StateBroadcasterOptions['timers'];
  now?: () => number;
}

/** Handles one invoke: checks the sender and arguments, runs the command, returns an envelope. */
export type UpdateCommandHandler = (
  channel: string,
  event: InvokeEvent,
  args: readonly unknown[],
) => Promise<BridgeResult<unknown>>;

/** Every command takes no arguments. */
const noArgumentsSchema = z.tuple([]);

const commandByChannel = new Map<string, UpdateCommand>(
  UPDATE_COMMANDS.map((command) => [UPDATE_CHANNELS[command], command]),
);

/**
 * Returns a copy that contains only JSON data: dates become ISO strings,
 * class instances become plain objects, and functions and undefined fields
 * are dropped. The same object then survives IPC's structured clone, the
 * HTTP API's JSON and the preload unchanged.
 */
export function toPlainData<T>(value: T): T {
  if (value === undefined) return value;
  return JSON.parse(JSON.stringify(value)) as T;
}

function runCommand<C extends UpdateCommand>(
  updater: UpdaterService,
  command: C,
): Promise<UpdateCommandResults[C]> {
  const runners: { [K in UpdateCommand]: () => Promise<UpdateCommandResults[K]> } = {
    getVersion: () => updater.getVersion(),
    check: () => updater.check(),
    download: () => updater.download(),
    install: () => updater.install(),
    cancel: () => updater.cancel(),
    getState: async () => updater.getState(),
  };
  return runners[command]();
}

function describeFrame(frame: SenderFrame | null): string {
  return frame ? `${frame.url}${frame.parent === null ? '' : ' (subframe)'}` : '(frame gone)';
}

/** Builds the handler that every update channel uses. */
export function createUpdateCommandHandler(
  deps: Pick<UpdateIpcDeps, 'updater' | 'isTrustedSender' | 'logger'>,
): UpdateCommandHandler {
  const { updater, logger } = deps;

  const validate = (channel: string, event: InvokeEvent, args: readonly unknown[]): UpdateCommand => {
    const command = commandByChannel.get(channel);
    if (!command) {
      const known = [...commandByChannel.keys()].join(', ');
      throw new UpdateError('INVALID_INPUT', `Unknown update channel "${channel}". Known channels: ${known}.`);
    }
    if (!deps.isTrustedSender(event.senderFrame)) {
      const sender = describeFrame(event.senderFrame);
      throw new UpdateError('FORBIDDEN', `${channel} was called from ${sender}, which is not the app's own page.`);
    }
    if (!noArgumentsSchema.safeParse(args).success) {
      throw new UpdateError('INVALID_INPUT', `${channel} takes no arguments, but received ${args.length}.`, {
        details: { channel, argumentCount: args.length },
      });
    }
    return command;
  };

  return async (channel, event, args) => {
    try {
      const command = validate(channel, event, args);
      const value = await runCommand(updater, command);
      return { ok: true, value: toPlainData(value) };
    } catch (error) {
      const data: UpdateErrorData = toPlainData(toErrorData(error));
      const level = data.code === 'CANCELLED' ? 'info' : 'warn';
      logger[level](`ipc ${channel} failed: ${data.code}: ${data.message}`);
      return { ok: false, error: data };
    }
  };
}

/** Handle returned by registerUpdateIpc. */
export interface UpdateIpcRegistration {
  /** Sends a waiting progress push now. */
  flush(): void;
  /** Removes the handlers and the state subscription. */
  dispose(): void;
}

/**
 * Registers one `ipcMain.handle` per update command and pushes every state
 * change to all live windows on the `update-progress` channel.
 */
export function registerUpdateIpc(deps: UpdateIpcDeps): UpdateIpcRegistration {
  const handler = createUpdateCommandHandler(deps);
  for (const channel of commandByChannel.keys()) {
    deps.ipcMain.handle(channel, (event, ...args) => handler(channel, event, args));
  }

  const broadcaster = new StateBroadcaster({
    channel: UPDATE_CHANNELS.state,
    getTargets: deps.getWindows,
    logger: deps.logger,
    throttleMs: deps.throttleMs,
    timers: deps.timers,
    now: deps.now,
  });
  const unsubscribe = deps.updater.onState((state) => broadcaster.push(toPlainData(state)));
  deps.logger.info(`ipc registered: ${commandByChannel.size} update commands`);

  return {
    flush: () => broadcaster.flush(),
    dispose: () => {
      unsubscribe();
      broadcaster.dispose();
      for (const channel of commandByChannel.keys()) deps.ipcMain.removeHandler(channel);
    },
  };
}
