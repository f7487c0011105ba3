import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../config';
import { createLogger, setDefaultConsoleLevel } from '../logger';
import { findFreePort } from '../updater/apply';
import { toErrorData } from '../updater/errors';
import { BackendUpdater } from '../updater/updater';
import { startHttpApi } from '../http-api';
import { formatBytes, progressPrinter } from '../cli/output';
import { parseCommandArgs, parsePortOption } from '../cli/args';
import { defaultUiDir, stopOnSignal } from '../cli/serve';
import { startLocalFeed, type LocalFeed } from './local-feed';
import { buildRendererIfMissing } from './build-ui';
import { createDemoKey, packSignedRelease, tamperedCopy } from './signed-releases';

/** Port of the demo UI unless `--port` chooses another. */
export const DEMO_UI_PORT = 5780;

/**
 * The 2.1.0 archive carries 12 MiB of payload served at 6 MiB/s, so its
 * download lasts about two seconds and the progress bar can be watched.
 */
const DEMO_PAYLOAD_BYTES = 12 * 1024 * 1024;
const DEMO_DOWNLOAD_BYTES_PER_SECOND = 6 * 1024 * 1024;

const NOTES_2_0_0 = `First release of the sample backend.

- \`GET /health\` answers with the running version.`;

const NOTES_2_1_0 = `## What's new in 2.1.0

- **Faster start-up**: the backend answers its health check sooner.
- Release notes are written in *Markdown*; see the [changelog](https://example.com/changelog).

## Fixes

1. The version in \`/health\` now always matches the installed folder.
2. Shutting down no longer leaves a stray process behind.`;

interface DemoWorld {
  feed: LocalFeed;
  /** The same releases with 2.1.0's archives altered, as a compromised mirror would serve them. */
  tamperedFeed: LocalFeed;
  updater: BackendUpdater;
  stop(): Promise<void>;
}

function demoReleases(oldFiles: string[], nextFiles: string[]) {
  return [
    { version: '2.0.0', name: 'Backend 2.0.0', notes: NOTES_2_0_0, publishedAt: '2026-11-02T09:00:00Z', files: oldFiles },
    { version: '2.1.0', name: 'Backend 2.1.0', notes: NOTES_2_1_0, publishedAt: '2026-12-01T09:00:00Z', files: nextFiles },
  ];
}

/**
 * Sets up the demo in a temporary folder. A throwaway key signs releases
 * 2.0.0 and 2.1.0 of the sample backend on a local feed, and a second feed
 * serves the same releases with 2.1.0's archives altered. 2.0.0 is installed
 * and running under an updater that trusts only that key.
 */
async function setUpDemo(log: (line: string) => void): Promise<DemoWorld> {
  const logger = createLogger('demo');
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'backend-updater-demo-'));
  const key = await createDemoKey(path.join(root, 'keys'));
  const oldFiles = await packSignedRelease({ version: '2.0.0', outDir: path.join(root, 'releases', '2.0.0'), formats: ['zip'] }, key);
  const nextFiles = await packSignedRelease(
    { version: '2.1.0', outDir: path.join(root, 'releases', '2.1.0'), formats: ['zip', 'tar.gz'], topFolder: true, payloadBytes: DEMO_PAYLOAD_BYTES },
    key,
  );
  const tamperedFiles = await tamperedCopy(nextFiles, path.join(root, 'releases', '2.1.0-tampered'));
  const feed = await startLocalFeed({ releases: demoReleases(oldFiles, nextFiles), downloadBytesPerSecond: DEMO_DOWNLOAD_BYTES_PER_SECOND });
  const tamperedFeed = await startLocalFeed({ releases: demoReleases(oldFiles, tamperedFiles), downloadBytesPerSecond: DEMO_DOWNLOAD_BYTES_PER_SECOND });
  log(`Release signing key (made for this run): ${key.keyId}`);
  log(`Local release feed: ${feed.url} (releases 2.0.0 and 2.1.0, signed)`);

  const config = parseConfig({ home: path.join(root, 'home'), feedUrl: feed.url, publicKeys: [key.publicKeyFile], backend: { port: await findFreePort() } });
  const updater = new BackendUpdater({ config, logger, keepBackendRunning: true });
  const releaseLock = await updater.store.lock();
  const world: DemoWorld = {
    feed,
    tamperedFeed,
    updater,
    stop: async () => {
      await updater.stopBackend().catch((error: unknown) => logger.error(`stopping the backend failed: ${(error as Error).message}`));
      await feed.close();
      await tamperedFeed.close();
      await releaseLock();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
  try {
    await updater.init();
    const archive = oldFiles.find((file) => file.endsWith('.zip'));
    if (!archive) throw new Error('packing 2.0.0 produced no archive');
    const installed = await updater.installFile({ file: archive, version: '2.0.0', format: 'zip' });
    log(`Installed and started backend ${installed.version} on port ${config.backend.port}: ${JSON.stringify(installed.health)}`);
  } catch (error) {
    await world.stop();
    throw error;
  }
  return world;
}

async function readBackendHealth(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return `${response.status} ${await response.text()}`;
}

function printLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Tries to install 2.1.0 from the tampered feed with the same data folder and
 * backend, and prints why it was rejected. Nothing is installed: the altered
 * archive fails its signature check right after download.
 */
async function showTamperedRejected(world: DemoWorld): Promise<void> {
  const logger = createLogger('demo');
  const config = { ...world.updater.config, feedUrl: world.tamperedFeed.url };
  const mirror = new BackendUpdater({ config, logger, store: world.updater.store, supervisor: world.updater.supervisor, keepBackendRunning: true });
  printLine(`Trying a compromised mirror first: ${world.tamperedFeed.url} (2.1.0 archives altered, SHA256SUMS rewritten to match)`);
  try {
    await mirror.install();
    throw new Error('the tampered release was installed; the demo expected it to be rejected');
  } catch (error) {
    const data = toErrorData(error);
    if (data.code !== 'SIGNATURE_INVALID') throw error;
    printLine(`Rejected: ${data.code}: ${data.message}`);
  }
  printLine(`Backend after the rejected update: GET /health -> ${await readBackendHealth(world.updater.config.backend.port)}`);
}

/** Runs the whole update in the terminal and exits: a rejected tampered release, then check, download, verify, install, restart. */
async function runHeadless(): Promise<void> {
  const world = await setUpDemo(printLine);
  const { updater } = world;
  try {
    const port = updater.config.backend.port;
    printLine(`Backend before the update: GET /health -> ${await readBackendHealth(port)}`);
    await showTamperedRejected(world);
    const check = await updater.check();
    if (!check.update) throw new Error(`the demo feed offered no update over ${check.currentVersion}`);
    printLine(`Update available: ${check.currentVersion} -> ${check.latestVersion} (${check.update.assetName}, ${formatBytes(check.update.assetSize ?? 0)})`);
    printLine(`Signature: release manifest signed by trusted key ${check.update.signature.keyId ?? '(none)'}`);
    printLine(`Release notes:\n${check.update.releaseNotes.replace(/^/gm, '  ')}`);
    const unsubscribe = updater.onState(progressPrinter(process.stdout));
    const downloaded = await updater.download();
    printLine(`Downloaded and verified against its signature and the signed manifest: SHA-256 ${downloaded.sha256}`);
    const installed = await updater.install();
    unsubscribe();
    printLine(`Installed ${installed.version} (previous ${installed.previousVersion ?? 'none'}); backend restarted.`);
    printLine(`Backend after the update: GET /health -> ${await readBackendHealth(port)}`);
  } finally {
    await world.stop();
    printLine('Demo finished: stopped the backend and the local feeds, removed the temporary folder.');
  }
}

/** Serves the update UI against the demo world until Ctrl+C. */
async function runWithUi(port: number): Promise<void> {
  const uiDir = defaultUiDir() ?? (await buildRendererIfMissing(printLine));
  const world = await setUpDemo(printLine);
  const logger = createLogger('demo');
  let api: Awaited<ReturnType<typeof startHttpApi>>;
  try {
    api = await startHttpApi({ updater: world.updater, home: world.updater.config.home, port, uiDir, logger });
  } catch (error) {
    await world.stop();
    throw error;
  }
  printLine(`Backend Updater demo UI: ${api.url}/`);
  printLine('Press Ctrl+C to stop.');
  await stopOnSignal(async () => {
    await api.close();
    await world.stop();
  }, logger);
}

export async function demoCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('demo', args, { headless: { type: 'boolean', default: false }, port: { type: 'string' } });
  // The demo prints its steps on stdout; engine logs show only warnings unless the level is set.
  setDefaultConsoleLevel('warn');
  if (values.headless) {
    await runHeadless();
    return;
  }
  await runWithUi(parsePortOption(values.port, 'port', true) ?? DEMO_UI_PORT);
}
