/**
 * Child process of the crash-safety test. It runs a full update the way
 * `serve` does (lock, recovery, backend 2.0.0 running, check, download,
 * install with the backend kept running) and stops at one kill point so that
 * the parent can SIGKILL it there.
 *
 * Usage: node --import tsx crash-child.ts <config JSON> <kill point>
 *
 * Output on stdout, one line each:
 * - `step <name>`: the child reached a kill point boundary (`downloaded` or an
 *   install step). At the requested one it waits forever after printing.
 * - `log <level> <message>`: every log line of the engine, so that the parent
 *   can kill on a line (`extract start`, `backend 2.1.0 started`).
 * - `done`: the update finished without reaching the requested kill point.
 */
import { parseConfig } from '../../main/config';
import type { Logger } from '../../main/logger';
import type { ApplyStep } from '../../main/updater/apply';
import { BackendUpdater } from '../../main/updater/updater';

const [configJson, killPoint] = process.argv.slice(2);
if (configJson === undefined || killPoint === undefined) {
  process.stderr.write('usage: crash-child.ts <config JSON> <kill point>\n');
  process.exit(2);
}

function emit(line: string): void {
  // Writes to a pipe are synchronous on Linux and macOS, so the line is out before the wait starts.
  process.stdout.write(`${line.replaceAll('\n', ' ')}\n`);
}

function waitForever(): Promise<never> {
  setInterval(() => undefined, 60_000);
  return new Promise<never>(() => undefined);
}

async function reach(step: string): Promise<void> {
  emit(`step ${step}`);
  if (step === killPoint) await waitForever();
}

const logger: Logger = {
  debug: () => undefined,
  info: (message) => emit(`log info ${message}`),
  warn: (message) => emit(`log warn ${message}`),
  error: (message) => emit(`log error ${message}`),
};

const updater = new BackendUpdater({
  config: parseConfig(JSON.parse(configJson)),
  logger,
  keepBackendRunning: true,
  onInstallStep: (step: ApplyStep) => reach(step),
});

await updater.store.lock();
await updater.init();
await updater.startBackend();
await updater.check();
await updater.download();
await reach('downloaded');
await updater.install();
emit('done');
await waitForever();
