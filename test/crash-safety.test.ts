/**
 * Kills an install at every step boundary of its journal and checks that a
 * fresh updater recovers. The active version folder must be exactly 2.0.0 or
 * exactly 2.1.0, compared by a hash of its file tree with the archive's
 * entries. The backend must start from it and return that version from
 * /health, and versions/2.0.0 must survive intact. The install runs in a child
 * process (test/helpers/crash-child.ts) with the real Python backend.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPortInUse, waitForPortFree } from '../main/backend/port';
import { parseConfig, type UpdaterConfig } from '../main/config';
import { startLocalFeed, type LocalFeed } from '../main/demo/local-feed';
import { silentLogger } from '../main/logger';
import { SAMPLE_BACKEND_DIR } from '../main/release/pack-sample';
import { findFreePort } from '../main/updater/apply';
import { InstallStore, type InstallState, type RecoveryReport } from '../main/updater/install';
import { BackendUpdater } from '../main/updater/updater';
import { file, makeZip, type FileEntry } from './helpers/archives';
import { backendHealth } from './helpers/world';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHILD = path.join(REPO_ROOT, 'test', 'helpers', 'crash-child.ts');
/** Bytes of each incompressible blob in 2.1.0, so that extraction lasts long enough to be killed in. */
const BLOB_BYTES = 6 * 1024 * 1024;

type Version = '2.0.0' | '2.1.0';

interface KillPoint {
  name: string;
  /** Kills when this `step` marker or log line arrives; a function waits for something more first. */
  trigger: { step: string } | { log: RegExp; then?: (home: string) => Promise<void> };
  /** Journal expected right after the kill, which proves where the kill landed. */
  journal: (state: InstallState) => void;
  recovery: RecoveryReport['action'];
  active: Version;
}

const KILL_POINTS: KillPoint[] = [
  { name: 'after download', trigger: { step: 'downloaded' }, journal: expectJournal('2.0.0', null), recovery: 'none', active: '2.0.0' },
  {
    name: 'during extraction',
    trigger: { log: /extract start .*2\.1\.0/, then: waitForPartialBlob },
    journal: expectJournal('2.0.0', 'staging'),
    recovery: 'cleaned-staging',
    active: '2.0.0',
  },
  { name: 'after staging', trigger: { step: 'staged' }, journal: expectJournal('2.0.0', null), recovery: 'none', active: '2.0.0' },
  { name: 'after old backend stopped', trigger: { step: 'stopped' }, journal: expectJournal('2.0.0', null), recovery: 'none', active: '2.0.0' },
  { name: 'after the switch', trigger: { step: 'activated' }, journal: expectJournal('2.1.0', 'activated'), recovery: 'rolled-back', active: '2.0.0' },
  { name: 'while the new backend starts', trigger: { log: /backend 2\.1\.0 started: pid/ }, journal: expectJournal('2.1.0', 'activated'), recovery: 'rolled-back', active: '2.0.0' },
  { name: 'after the new backend is healthy', trigger: { step: 'started' }, journal: expectJournal('2.1.0', 'activated'), recovery: 'rolled-back', active: '2.0.0' },
  { name: 'after confirmation', trigger: { step: 'confirmed' }, journal: expectJournal('2.1.0', null), recovery: 'none', active: '2.1.0' },
];

let root: string;
let template: string;
let feed: LocalFeed;
const trees = new Map<Version, string>();
let covered = 0;
let child: ChildProcess | null = null;
const backendPids = new Set<number>();

function expectJournal(current: Version, pending: 'staging' | 'activated' | null): (state: InstallState) => void {
  return (state) => {
    expect(state.current).toBe(current);
    expect(state.pending?.step ?? null).toBe(pending);
  };
}

/** Hashes a file tree: every path with its kind, executable bit and content hash (or link target). */
function hashTree(items: Map<string, string>): string {
  const lines = [...items.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, value]) => `${name}\t${value}`);
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** Hashes the tree that extracting `entries` must produce, without running the extractor. */
function expectedTree(entries: FileEntry[]): string {
  const items = new Map<string, string>();
  for (const entry of entries) {
    const parts = entry.name.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) items.set(parts.slice(0, depth).join('/'), 'dir');
    const executable = ((entry.mode ?? 0o644) & 0o111) !== 0;
    items.set(entry.name, `file ${executable ? 'x' : '-'} ${createHash('sha256').update(entry.content).digest('hex')}`);
  }
  return hashTree(items);
}

/** Hashes the tree on disk below `folder`, without following links. */
async function treeOnDisk(folder: string): Promise<string> {
  const items = new Map<string, string>();
  for (const name of await readdir(folder, { recursive: true })) {
    const absolute = path.join(folder, name);
    const relative = name.split(path.sep).join('/');
    const info = await lstat(absolute);
    if (info.isDirectory()) items.set(relative, 'dir');
    else if (info.isSymbolicLink()) items.set(relative, `link ${await readlink(absolute)}`);
    else items.set(relative, `file ${(info.mode & 0o111) !== 0 ? 'x' : '-'} ${createHash('sha256').update(await readFile(absolute)).digest('hex')}`);
  }
  return hashTree(items);
}

async function releaseEntries(version: Version): Promise<FileEntry[]> {
  const main = await readFile(path.join(SAMPLE_BACKEND_DIR, 'main.py'));
  const entries = [file('main.py', main), file('VERSION', `${version}\n`)];
  if (version === '2.1.0') {
    for (const index of [1, 2, 3]) entries.push(file(`data/blob-${index}.bin`, randomBytes(BLOB_BYTES)));
  }
  return entries;
}

/** Waits until extraction has written part of the first blob of 2.1.0 into staging. */
async function waitForPartialBlob(home: string): Promise<void> {
  const staging = path.join(home, 'backend', 'staging');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    for (const folder of await readdir(staging).catch(() => [] as string[])) {
      const blob = await lstat(path.join(staging, folder, 'data', 'blob-1.bin')).catch(() => null);
      if (blob !== null && blob.size > 0) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error('extraction never started writing blob-1.bin');
}

function configFor(home: string, port: number): UpdaterConfig {
  return parseConfig({ home, feedUrl: feed.url, backend: { port, startTimeoutMs: 15_000, stopTimeoutMs: 3_000 } });
}

/** Starts the child and resolves once the kill point is reached, or rejects when the child exits first. */
function runUntil(point: KillPoint, config: UpdaterConfig): Promise<ChildProcess> {
  const started = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config), 'trigger' in point && 'step' in point.trigger ? point.trigger.step : 'none'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = started;
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    let fired = false;
    const fire = (): void => {
      if (fired) return;
      fired = true;
      resolve(started);
    };
    started.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    started.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const pid = /backend \S+ started: pid (\d+)/.exec(line);
        if (pid) backendPids.add(Number(pid[1]));
        if (fired) continue;
        const { trigger } = point;
        if ('step' in trigger && line === `step ${trigger.step}`) fire();
        if ('log' in trigger && line.startsWith('log ') && trigger.log.test(line)) {
          fired = true;
          const wait = trigger.then?.(config.home) ?? Promise.resolve();
          wait.then(() => resolve(started), reject);
        }
      }
    });
    started.once('exit', (code, signal) => {
      if (!fired) reject(new Error(`crash child exited (${code ?? signal}) before "${point.name}": ${stderr.slice(-2000)}`));
    });
  });
}

async function kill(target: ChildProcess): Promise<void> {
  if (target.exitCode === null && target.signalCode === null) {
    const exited = new Promise((resolve) => target.once('exit', resolve));
    target.kill('SIGKILL');
    await exited;
  }
}

/**
 * Waits for the backend that the killed child started to exit on its own
 * (it reads end of file on stdin), then kills whatever of its group is left.
 */
async function reapBackends(port: number): Promise<void> {
  await waitForPortFree('127.0.0.1', port, 5_000);
  for (const pid of backendPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
  backendPids.clear();
  expect(await waitForPortFree('127.0.0.1', port, 5_000)).toBe(true);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'crash-safety-'));
  const archives: Record<Version, string> = { '2.0.0': '', '2.1.0': '' };
  for (const version of ['2.0.0', '2.1.0'] as const) {
    const entries = await releaseEntries(version);
    trees.set(version, expectedTree(entries));
    archives[version] = await makeZip(path.join(root, 'releases', version, `python-backend-${version}.zip`), entries);
  }
  feed = await startLocalFeed({
    releases: [
      { version: '2.0.0', notes: '', files: [archives['2.0.0']] },
      { version: '2.1.0', notes: '', files: [archives['2.1.0']] },
    ],
  });

  template = path.join(root, 'template');
  const installer = new BackendUpdater({ config: configFor(template, await findFreePort()), logger: silentLogger });
  await installer.init();
  await installer.installFile({ file: archives['2.0.0'], version: '2.0.0', format: 'zip' });
});

afterEach(async () => {
  if (child !== null) await kill(child);
  child = null;
  for (const pid of backendPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
  backendPids.clear();
});

afterAll(async () => {
  console.log(`crash-safety: ${covered} kill points covered`);
  await feed?.close();
  await rm(root, { recursive: true, force: true });
});

describe('install killed at each step', () => {
  it.each(KILL_POINTS.map((point) => [point.name, point] as const))('recovers when killed %s', async (_name, point) => {
    const home = path.join(root, `home-${covered}-${randomBytes(3).toString('hex')}`);
    await cp(template, home, { recursive: true });
    const config = configFor(home, await findFreePort());

    const running = await runUntil(point, config);
    await kill(running);
    await reapBackends(config.backend.port);

    const recovering = new BackendUpdater({ config, logger: silentLogger, keepBackendRunning: true });
    point.journal(await recovering.store.readState());
    const release = await recovering.store.lock();
    try {
      const report = await recovering.init();
      const health = await recovering.startBackend();
      const state = await recovering.store.readState();

      expect(report.action).toBe(point.recovery);
      expect(state.current).toBe(point.active);
      expect(state.pending).toBeNull();
      expect(await treeOnDisk(recovering.store.versionDir(point.active))).toBe(trees.get(point.active));
      expect(await treeOnDisk(recovering.store.versionDir('2.0.0'))).toBe(trees.get('2.0.0'));
      const versions = await recovering.store.installedVersions();
      expect(versions).toContain('2.0.0');
      if (versions.includes('2.1.0')) expect(await treeOnDisk(recovering.store.versionDir('2.1.0'))).toBe(trees.get('2.1.0'));
      expect((await readdir(recovering.store.versionsDir)).filter((name) => name.startsWith('.'))).toEqual([]);
      expect(await readdir(recovering.store.stagingDir)).toEqual([]);
      expect(health?.version).toBe(point.active);
      const answer = await backendHealth(config.backend.port);
      expect(answer.status).toBe(200);
      expect(answer.body.version).toBe(point.active);
    } finally {
      await recovering.stopBackend();
      await release();
    }
    expect(await isPortInUse('127.0.0.1', config.backend.port)).toBe(false);
    covered += 1;
  });
});

describe('recovery of an interrupted prune', () => {
  it('finishes deleting a pruned folder', async () => {
    const home = path.join(root, `prune-${randomBytes(3).toString('hex')}`);
    await cp(template, home, { recursive: true });
    const store = new InstallStore({ home });
    // A kill while pruning leaves the renamed folder half deleted; its version name is gone already.
    const doomed = path.join(store.versionsDir, '.removing-1.9.0-0123abcd');
    await mkdir(path.join(doomed, 'data'), { recursive: true });
    await writeFile(path.join(doomed, 'data', 'left.bin'), 'x');

    await store.init();

    expect(await readdir(store.versionsDir)).toEqual(['2.0.0']);
    expect(await store.installedVersions()).toEqual(['2.0.0']);
    expect(await treeOnDisk(store.versionDir('2.0.0'))).toBe(trees.get('2.0.0'));
  });
});
