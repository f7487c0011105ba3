import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Connects to host:port and resolves true when something accepts the connection.
 * A refused connection means the port is free. A connect that neither succeeds nor
 * fails within `timeoutMs` counts as in use, because on loopback only a listener
 * with a full backlog behaves that way.
 */
export function isPortInUse(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (inUse: boolean): void => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(timeoutMs, () => finish(true));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** Polls until nothing listens on host:port; resolves false when the port is still in use after `timeoutMs`. */
export async function waitForPortFree(host: string, port: number, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isPortInUse(host, port))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}
