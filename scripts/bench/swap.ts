import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig, type UpdaterConfig } from '../../main/config';
import { silentLogger, type Logger } from '../../main/logger';
import { packSampleBackend, type PackedRelease } from '../../main/release/pack-sample';
import { findFreePort } from '../../main/updater/apply';
import { BackendUpdater } from '../../main/updater/updater';
import type { BenchContext } from './context';
import { waitUntilHealthy, type SwapObservation } from './health-poll';
import { boundRow, infoRow, type ResultRow } from './report';
import { summarize } from './stats';

/** Probe interval of the health pollers, in milliseconds. */
const POLL_INTERVAL_MS = 2;
const VERSIONS = ['4.0.0', '4.0.1'];

interface SwapRun {
  downtimeMs: number;
  coldStartMs: number;
  installMs: number;
  failedProbes: number;
  /** From the old version's last healthy response to its process exit. */
  oldShutdownMs: number;
  /** From that exit to the spawn of the new version: port check, state journal, spawn. */
  switchMs: number;
  /** From the spawn to the new version's first healthy response. */
  newStartMs: number;
}

/** Wall-clock times (epoch milliseconds) of the supervisor's steps during one install. */
interface StepTimes {
  exited: number | null;
  spawned: number | null;
}

function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Returns a logger that drops every line but notes when the supervisor logs
 * the spawn of a backend. The supervisor has no event at spawn time, only
 * this line.
 */
function stepLogger(steps: StepTimes): Logger {
  const ignore = (): void => undefined;
  return {
    ...silentLogger,
    debug: ignore,
    info: (message: string) => {
      if (/^backend \S+ started: pid/.test(message)) steps.spawned = wallClock();
    },
  };
}

/**
 * Starts the backend command in `dir` on a free port and returns the
 * milliseconds from spawn to the first healthy response, polled as often as
 * during a swap. The process is stopped afterwards.
 */
async function measureColdStart(config: UpdaterConfig, dir: string): Promise<number> {
  const port = await findFreePort();
  const [command, ...args] = config.backend.command as [string, ...string[]];
  const startedAt = performance.now();
  const child = spawn(command, args, {
    cwd: dir,
    env: { ...process.env, PORT: String(port), PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const healthyAt = await waitUntilHealthy(port, POLL_INTERVAL_MS, config.backend.startTimeoutMs);
    return healthyAt - startedAt;
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** Installs the other version while a separate process polls /health, and returns what it saw. */
async function swapOnce(context: BenchContext, updater: BackendUpdater, steps: StepTimes, release: PackedRelease): Promise<Omit<SwapRun, 'coldStartMs'>> {
  const watcher = context.children.start<SwapObservation>('watch-swap', { port: updater.config.backend.port, intervalMs: POLL_INTERVAL_MS });
  try {
    await watcher.ready;
    // A few healthy responses of the old version before the install starts.
    await sleep(30);
    steps.exited = null;
    steps.spawned = null;
    const startedAt = performance.now();
    await updater.installFile({ file: release.files[0]!, version: release.version, format: 'zip' });
    const installMs = performance.now() - startedAt;
    await sleep(30);
    watcher.stop();
    const seen = await watcher.result;
    if (seen.downtimeMs === null || seen.lastOldOkAt === null || seen.firstNewOkAt === null || seen.toVersion !== release.version) {
      throw new Error(`the health poller saw no switch to ${release.version} (from ${seen.fromVersion ?? 'none'} to ${seen.toVersion ?? 'none'})`);
    }
    if (steps.exited === null || steps.spawned === null) throw new Error('the supervisor reported no exit or no spawn during the install');
    return {
      downtimeMs: seen.downtimeMs,
      installMs,
      failedProbes: seen.failedProbes,
      oldShutdownMs: steps.exited - seen.lastOldOkAt,
      switchMs: steps.spawned - steps.exited,
      newStartMs: seen.firstNewOkAt - steps.spawned,
    };
  } finally {
    watcher.stop();
    await watcher.result.catch(() => undefined);
  }
}

/**
 * Figure 4: the time the backend does not respond during an install, from the
 * old version's last healthy response to the new version's first, against the
 * sample backend's own cold start. Installs alternate between two versions.
 */
export async function benchSwap(context: BenchContext): Promise<ResultRow[]> {
  const root = path.join(context.workDir, 'swap');
  const releases: PackedRelease[] = [];
  for (const version of VERSIONS) releases.push(await packSampleBackend({ version, outDir: path.join(root, 'releases', version), formats: ['zip'] }));
  const config = parseConfig({
    home: path.join(root, 'home'),
    // No feed request is made: installs come from local files. The URL only has to be valid.
    feedUrl: 'http://127.0.0.1:9/unused',
    backend: { port: await findFreePort(), startTimeoutMs: 20_000, stopTimeoutMs: 5_000 },
  });
  const steps: StepTimes = { exited: null, spawned: null };
  const updater = new BackendUpdater({ config, logger: stepLogger(steps), keepBackendRunning: true });
  updater.supervisor.on('exit', () => {
    steps.exited = wallClock();
  });
  await updater.init();
  const runs: SwapRun[] = [];
  try {
    await updater.installFile({ file: releases[0]!.files[0]!, version: releases[0]!.version, format: 'zip' });
    for (let index = 0; index < context.runs; index += 1) {
      const release = releases[(index + 1) % releases.length]!;
      const swap = await swapOnce(context, updater, steps, release);
      const coldStartMs = await measureColdStart(config, updater.store.versionDir(release.version));
      runs.push({ ...swap, coldStartMs });
      context.log(`swap run ${index + 1}/${context.runs}: downtime ${swap.downtimeMs.toFixed(0)} ms, cold start ${coldStartMs.toFixed(0)} ms, install ${swap.installMs.toFixed(0)} ms`);
    }
  } finally {
    await updater.stopBackend();
    await fs.rm(root, { recursive: true, force: true });
  }
  return [
    infoRow('4 swap', 'downtime during install, ms', summarize(runs.map((run) => run.downtimeMs)), 0),
    infoRow('4 swap', 'cold start of python3 main.py, ms', summarize(runs.map((run) => run.coldStartMs)), 0),
    boundRow('4 swap', 'downtime minus cold start, ms', summarize(runs.map((run) => run.downtimeMs - run.coldStartMs)), 50, 0),
    // The same goal without the run-to-run noise of the cold start: what the swap adds to the new backend's own start.
    boundRow('4 swap', 'downtime minus the new backend\'s own start, ms', summarize(runs.map((run) => run.oldShutdownMs + run.switchMs)), 50, 0),
    infoRow('4 swap', 'part: old backend last response to exit, ms', summarize(runs.map((run) => run.oldShutdownMs)), 0),
    infoRow('4 swap', 'part: exit to spawn (port check, journal, spawn), ms', summarize(runs.map((run) => run.switchMs)), 0),
    infoRow('4 swap', 'part: spawn to first response of the new backend, ms', summarize(runs.map((run) => run.newStartMs)), 0),
    infoRow('4 swap', 'whole install (extract, stop, switch, start), ms', summarize(runs.map((run) => run.installMs)), 0),
    infoRow('4 swap', 'failed health probes during install', summarize(runs.map((run) => run.failedProbes)), 0),
  ];
}
