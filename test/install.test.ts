import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UpdateError } from '../main/updater/errors';
import { InstallStore, type InstallState } from '../main/updater/install';
import { dir, file, makeTarGz, makeZip, type ArchiveEntry } from './helpers/archives';

const REPO_ROOT = path.resolve(__dirname, '..');
const INSTALL_MODULE = pathToFileURL(path.join(REPO_ROOT, 'main/updater/install.ts')).href;
const STATE_FILE_MODULE = pathToFileURL(path.join(REPO_ROOT, 'main/updater/install/state-file.ts')).href;
const isWindows = process.platform === 'win32';

let tmp: string;
let home: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'install-test-'));
  home = path.join(tmp, 'home');
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  await rm(tmp, { recursive: true, force: true });
});

/** Builds a tar.gz release of `version` with one top folder, main.py and an executable. */
async function release(version: string, extra: ArchiveEntry[] = [], body = `VERSION = "${version}"\n`): Promise<string> {
  const top = `python-backend-${version}`;
  const entries = [dir(top), file(`${top}/main.py`, body), file(`${top}/bin/server`, '#!/bin/sh\necho ok\n', 0o755), ...extra];
  return makeTarGz(path.join(tmp, 'archives', `${version}-${Math.random().toString(16).slice(2)}.tar.gz`), entries);
}

async function installVersion(store: InstallStore, version: string): Promise<void> {
  await store.stageArchive({ file: await release(version), format: 'tar.gz', version });
  await store.activate(version);
  await store.confirm(version);
}

/** Returns every file below `root` with its content, keyed by relative path. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const name of await readdir(root, { recursive: true })) {
    const absolute = path.join(root, name);
    if ((await stat(absolute)).isFile()) result[name.split(path.sep).join('/')] = await readFile(absolute, 'utf8');
  }
  return result;
}

async function rejectionOf(promise: Promise<unknown>): Promise<UpdateError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UpdateError);
    return error as UpdateError;
  }
  throw new Error('expected the promise to reject');
}

function exdev(from: string, to: string): Error {
  return Object.assign(new Error(`EXDEV: cross-device link not permitted, rename '${from}' -> '${to}'`), { code: 'EXDEV', syscall: 'rename' });
}

/** Starts a TypeScript child script (run by tsx) and resolves once it prints "ready". */
async function startChild(source: string, args: string[]): Promise<ChildProcess> {
  const script = path.join(tmp, `child-${children.length}.mts`);
  await writeFile(script, source);
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);

  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before it was ready: ${stderr}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
}

describe('InstallStore staging', () => {
  it('installs into the version folder', async () => {
    const store = new InstallStore({ home });
    await store.init();

    const folder = await store.stageArchive({ file: await release('2.1.0'), format: 'tar.gz', version: '2.1.0' });

    expect(folder).toBe(path.join(home, 'backend', 'versions', '2.1.0'));
    expect(await readFile(path.join(folder, 'main.py'), 'utf8')).toBe('VERSION = "2.1.0"\n');
    expect(await store.readState()).toEqual<InstallState>({ current: null, previous: null, pending: null });
    expect(await readdir(store.stagingDir)).toEqual([]);
    expect(await store.installedVersions()).toEqual(['2.1.0']);
  });

  it('reports a missing entry point', async () => {
    const store = new InstallStore({ home, entryPoint: 'server.py' });
    const archive = await makeZip(path.join(tmp, 'backend.zip'), [file('python-backend/app.py', 'x'), file('python-backend/README.md', 'y')]);

    const error = await rejectionOf(store.stageArchive({ file: archive, format: 'zip', version: '1.0.0' }));

    expect(error.code).toBe('ENTRY_POINT_MISSING');
    expect(error.message).toContain('backend.zip');
    expect(error.message).toContain('server.py');
    expect(error.message).toContain('README.md, app.py');
    expect(error.message).toContain('"python-backend"');
    expect(existsSync(store.versionDir('1.0.0'))).toBe(false);
    expect(await readdir(store.stagingDir)).toEqual([]);
    expect((await store.readState()).pending).toBeNull();
  });

  it('rejects invalid version names', async () => {
    const store = new InstallStore({ home });

    for (const version of ['../1.0.0', 'v1.0.0', '1.0', 'latest']) {
      const error = await rejectionOf(store.stageArchive({ file: await release('1.0.0'), format: 'tar.gz', version }));
      expect(error.code).toBe('INVALID_INPUT');
    }
  });

  it('replaces a version that is not current', async () => {
    const store = new InstallStore({ home });
    await installVersion(store, '1.0.0');
    await store.stageArchive({ file: await release('2.0.0', [], 'first'), format: 'tar.gz', version: '2.0.0' });

    await store.stageArchive({ file: await release('2.0.0', [], 'second'), format: 'tar.gz', version: '2.0.0' });

    expect(await readFile(path.join(store.versionDir('2.0.0'), 'main.py'), 'utf8')).toBe('second');
    expect(await readdir(store.versionsDir)).toEqual(['1.0.0', '2.0.0']);
  });

  it('refuses to replace the current version', async () => {
    const store = new InstallStore({ home });
    await installVersion(store, '1.0.0');
    const before = await snapshot(store.versionDir('1.0.0'));

    const error = await rejectionOf(store.stageArchive({ file: await release('1.0.0', [], 'changed'), format: 'tar.gz', version: '1.0.0' }));

    expect(error.code).toBe('INVALID_STATE');
    expect(await snapshot(store.versionDir('1.0.0'))).toEqual(before);
  });

  const hostile: Array<[string, ArchiveEntry]> = [
    ['parent escape', file('../stage2/evil.txt', 'evil')],
    ['nested escape', file('a/../../x', 'evil')],
    ['absolute path', file('/etc/x', 'evil')],
    ['drive letter', file('C:/x', 'evil')],
    ['UNC path', file('\\\\srv\\share\\x', 'evil')],
  ];

  it.each(hostile)('rejects %s and keeps live version', async (_label, entry) => {
    const store = new InstallStore({ home, stagingDir: path.join(tmp, 'u', 'stage') });
    await installVersion(store, '1.0.0');
    const stateBefore = await store.readState();
    const liveBefore = await snapshot(store.versionDir('1.0.0'));

    const error = await rejectionOf(store.stageArchive({ file: await release('2.0.0', [entry]), format: 'tar.gz', version: '2.0.0' }));

    expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect(error.details?.entry).toBe(entry.name);
    expect(await snapshot(store.versionDir('1.0.0'))).toEqual(liveBefore);
    expect(await store.readState()).toEqual(stateBefore);
    expect(await readdir(path.join(tmp, 'u'))).toEqual(['stage']);
    expect(await readdir(path.join(tmp, 'u', 'stage'))).toEqual([]);
    expect(existsSync(path.join(tmp, 'u', 'stage2'))).toBe(false);
    expect(await store.installedVersions()).toEqual(['1.0.0']);
  });
});

describe('InstallStore across file systems', () => {
  it('copies when rename fails with EXDEV', async () => {
    const renames: string[] = [];
    const store = new InstallStore({
      home,
      rename: async (from, to) => {
        renames.push(path.basename(from));
        if (from.startsWith(store.stagingDir)) throw exdev(from, to);
        await rename(from, to);
      },
    });
    await store.init();

    const folder = await store.stageArchive({ file: await release('2.0.0'), format: 'tar.gz', version: '2.0.0' });

    expect(await readFile(path.join(folder, 'main.py'), 'utf8')).toBe('VERSION = "2.0.0"\n');
    if (!isWindows) expect((await stat(path.join(folder, 'bin', 'server'))).mode & 0o111).not.toBe(0);
    expect(renames[0]).toMatch(/^2\.0\.0-[0-9a-f]{8}$/);
    expect(renames[1]).toMatch(/^\.partial-2\.0\.0-[0-9a-f]{8}$/);
    expect(await readdir(store.stagingDir)).toEqual([]);
    expect(await readdir(store.versionsDir)).toEqual(['2.0.0']);
    expect((await store.readState()).pending).toBeNull();
  });

  it('restores the old folder when copying fails', async () => {
    const store = new InstallStore({
      home,
      rename: async (from, to) => {
        if (from.startsWith(store.stagingDir)) throw exdev(from, to);
        if (path.basename(from).startsWith('.partial-')) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO', syscall: 'rename' });
        await rename(from, to);
      },
    });
    await store.init();
    await mkdir(store.versionDir('2.0.0'));
    await writeFile(path.join(store.versionDir('2.0.0'), 'main.py'), 'old');

    const error = await rejectionOf(store.stageArchive({ file: await release('2.0.0'), format: 'tar.gz', version: '2.0.0' }));

    expect(error.code).toBe('INSTALL_FAILED');
    expect(error.message).toContain('EIO');
    expect(await readFile(path.join(store.versionDir('2.0.0'), 'main.py'), 'utf8')).toBe('old');
    expect(await readdir(store.versionsDir)).toEqual(['2.0.0']);
    expect(await readdir(store.stagingDir)).toEqual([]);
    expect((await store.readState()).pending).toBeNull();
  });
});

describe('InstallStore activation', () => {
  it('activates, confirms and rolls back', async () => {
    const store = new InstallStore({ home });
    await store.init();
    await installVersion(store, '1.0.0');
    await store.stageArchive({ file: await release('2.0.0'), format: 'tar.gz', version: '2.0.0' });

    expect(await store.activate('2.0.0')).toEqual({ previous: '1.0.0' });
    expect(await store.readState()).toEqual({ current: '2.0.0', previous: '1.0.0', pending: { step: 'activated', version: '2.0.0', previous: '1.0.0', priorPrevious: null } });

    expect(await store.rollback()).toEqual({ current: '1.0.0', previous: '2.0.0' });
    expect(await store.readState()).toEqual({ current: '1.0.0', previous: '2.0.0', pending: null });
    expect(await store.installedVersions()).toEqual(['2.0.0', '1.0.0']);

    expect(await store.rollback()).toEqual({ current: '2.0.0', previous: '1.0.0' });
  });

  it('prunes all but current and previous', async () => {
    const store = new InstallStore({ home });
    await installVersion(store, '1.0.0');
    await installVersion(store, '1.1.0');
    expect(await store.installedVersions()).toEqual(['1.1.0', '1.0.0']);

    await installVersion(store, '1.2.0');

    expect(await store.installedVersions()).toEqual(['1.2.0', '1.1.0']);
    expect(await store.readState()).toEqual({ current: '1.2.0', previous: '1.1.0', pending: null });
    expect(await store.highestVerified()).toBe('1.2.0');
  });

  it('rejects rollback without previous', async () => {
    const store = new InstallStore({ home });
    await store.init();

    const error = await rejectionOf(store.rollback());

    expect(error.code).toBe('NOTHING_TO_ROLL_BACK');
  });

  it('rejects activating a missing version', async () => {
    const store = new InstallStore({ home });

    const error = await rejectionOf(store.activate('3.0.0'));

    expect(error.code).toBe('VERSION_NOT_INSTALLED');
    expect(error.message).toContain('3.0.0');
  });

  it('rejects confirming another version', async () => {
    const store = new InstallStore({ home });
    await store.stageArchive({ file: await release('1.0.0'), format: 'tar.gz', version: '1.0.0' });
    await store.activate('1.0.0');

    const error = await rejectionOf(store.confirm('2.0.0'));

    expect(error.code).toBe('INVALID_STATE');
    expect((await store.readState()).pending).toEqual({ step: 'activated', version: '1.0.0', previous: null, priorPrevious: null });
  });

  it('rejects activation while one is pending', async () => {
    const store = new InstallStore({ home });
    await store.stageArchive({ file: await release('1.0.0'), format: 'tar.gz', version: '1.0.0' });
    await store.stageArchive({ file: await release('2.0.0'), format: 'tar.gz', version: '2.0.0' });
    await store.activate('1.0.0');

    const error = await rejectionOf(store.activate('2.0.0'));

    expect(error.code).toBe('INVALID_STATE');
    expect((await store.readState()).current).toBe('1.0.0');
  });
});

describe('InstallStore recovery', () => {
  const stagingCrashChild = `
import { rename } from 'node:fs/promises';
import { InstallStore } from '${INSTALL_MODULE}';
const [home, archive] = process.argv.slice(2);
setInterval(() => undefined, 60_000);
const store = new InstallStore({
  home,
  rename: async (from, to) => {
    if (!from.startsWith(store.stagingDir)) return rename(from, to);
    process.stdout.write('ready\\n');
    return new Promise(() => undefined);
  },
});
await store.lock();
await store.stageArchive({ file: archive, format: 'tar.gz', version: '2.0.0' });
`;

  const activationCrashChild = `
import { InstallStore } from '${INSTALL_MODULE}';
const [home, archive] = process.argv.slice(2);
setInterval(() => undefined, 60_000);
const store = new InstallStore({ home });
await store.lock();
await store.stageArchive({ file: archive, format: 'tar.gz', version: '2.0.0' });
await store.activate('2.0.0');
process.stdout.write('ready\\n');
`;

  it('cleans staging after a killed install', async () => {
    const store = new InstallStore({ home });
    await installVersion(store, '1.0.0');
    const child = await startChild(stagingCrashChild, [home, await release('2.0.0')]);
    await kill(child);
    const journal = await store.readState();
    expect(journal.pending?.step).toBe('staging');

    const release2 = await store.lock();
    const report = await store.init();
    await release2();

    expect(report).toEqual({ action: 'cleaned-staging', current: '1.0.0', detail: 'removed the unfinished staging of 2.0.0' });
    expect(await store.readState()).toEqual({ current: '1.0.0', previous: null, pending: null });
    expect(await readdir(store.stagingDir)).toEqual([]);
    expect(await store.installedVersions()).toEqual(['1.0.0']);
  });

  it('rolls back an unconfirmed activation', async () => {
    const store = new InstallStore({ home });
    await installVersion(store, '1.0.0');
    const child = await startChild(activationCrashChild, [home, await release('2.0.0')]);
    await kill(child);
    expect((await store.readState()).current).toBe('2.0.0');

    const release2 = await store.lock();
    const report = await store.init();
    await release2();

    expect(report.action).toBe('rolled-back');
    expect(report.current).toBe('1.0.0');
    // The version that never passed its health check is not offered as a rollback target.
    expect(await store.readState()).toEqual({ current: '1.0.0', previous: null, pending: null });
    expect(await store.installedVersions()).toEqual(['2.0.0', '1.0.0']);
  });

  it('keeps an unconfirmed first version', async () => {
    const store = new InstallStore({ home });
    await store.stageArchive({ file: await release('1.0.0'), format: 'tar.gz', version: '1.0.0' });
    await store.activate('1.0.0');

    const report = await new InstallStore({ home }).init();

    expect(report.action).toBe('none');
    expect(report.current).toBe('1.0.0');
    expect(report.detail).toContain('no previous version');
    expect(await store.readState()).toEqual({ current: '1.0.0', previous: null, pending: null });
  });

  it('restores a folder moved aside', async () => {
    const store = new InstallStore({ home });
    await installVersion(store, '1.0.0');
    await store.stageArchive({ file: await release('2.0.0'), format: 'tar.gz', version: '2.0.0' });
    // A crash between moving 2.0.0 aside and renaming its replacement in leaves this layout.
    await rename(store.versionDir('2.0.0'), path.join(store.versionsDir, '.replaced-2.0.0-0123abcd'));
    await mkdir(path.join(store.stagingDir, '2.0.0-89abcdef'));

    await store.init();

    expect(await readdir(store.versionsDir)).toEqual(['1.0.0', '2.0.0']);
    expect(await readFile(path.join(store.versionDir('2.0.0'), 'main.py'), 'utf8')).toBe('VERSION = "2.0.0"\n');
    expect(await readdir(store.stagingDir)).toEqual([]);
  });

  it('ignores journal paths outside staging', async () => {
    const store = new InstallStore({ home });
    await store.init();
    const outside = path.join(tmp, 'precious');
    await mkdir(outside);
    await writeFile(path.join(outside, 'keep.txt'), 'x');
    const state = { current: null, previous: null, pending: { step: 'staging', version: '2.0.0', stagingDir: outside } };
    await writeFile(path.join(store.backendDir, 'state.json'), JSON.stringify(state));

    const report = await store.init();

    expect(report.action).toBe('cleaned-staging');
    expect(await readFile(path.join(outside, 'keep.txt'), 'utf8')).toBe('x');
  });
});

describe('InstallStore state file', () => {
  const writerChild = `
import { StateFile } from '${STATE_FILE_MODULE}';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const state = new StateFile(process.argv[2], quiet);
for (let index = 0; ; index += 1) {
  await state.write({ current: '1.0.' + index, previous: null, pending: null, highestVerified: null });
  if (index === 0) process.stdout.write('ready\\n');
}
`;

  it('survives a kill during writes', async () => {
    const store = new InstallStore({ home });
    await store.init();
    const statePath = path.join(store.backendDir, 'state.json');

    for (let round = 0; round < 3; round += 1) {
      const child = await startChild(writerChild, [statePath]);
      await new Promise((resolve) => setTimeout(resolve, 50 + round * 70));
      await kill(child);

      const parsed = JSON.parse(await readFile(statePath, 'utf8')) as { current: string };
      expect(parsed.current).toMatch(/^1\.0\.\d+$/);
      expect((await store.readState()).current).toBe(parsed.current);
    }

    await store.init();
    expect((await readdir(store.backendDir)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('reads missing state as empty', async () => {
    const store = new InstallStore({ home });

    expect(await store.readState()).toEqual({ current: null, previous: null, pending: null });
  });

  it('falls back to the backup', async () => {
    const store = new InstallStore({ home });
    await installVersion(store, '1.0.0');
    await writeFile(path.join(store.backendDir, 'state.json'), '{"current": "1.0');

    expect(await store.readState()).toEqual({ current: '1.0.0', previous: null, pending: null });
  });

  it('reports damaged state without backup', async () => {
    const store = new InstallStore({ home });
    await installVersion(store, '1.0.0');
    await writeFile(path.join(store.backendDir, 'state.json'), '{"current": "../../etc"}');
    await writeFile(path.join(store.backendDir, 'state.json.bak'), 'garbage');

    const error = await rejectionOf(store.readState());

    expect(error.code).toBe('INSTALL_FAILED');
    expect(error.message).toContain(path.join(store.backendDir, 'state.json'));
    expect(error.message).toContain('current');
  });
});

describe('InstallStore lock', () => {
  function writeLock(store: InstallStore, pid: number): Promise<void> {
    const owner = { pid, hostname: os.hostname(), startedAt: new Date().toISOString(), token: 'other' };
    return writeFile(path.join(store.backendDir, '.lock'), JSON.stringify(owner));
  }

  it('rejects a lock held by a live process', async () => {
    const store = new InstallStore({ home });
    await store.init();
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(holder);
    await writeLock(store, holder.pid ?? 0);

    const error = await rejectionOf(store.lock());

    expect(error.code).toBe('LOCKED');
    expect(error.message).toContain(`process ${holder.pid}`);
    expect(error.message).toContain(path.join(store.backendDir, '.lock'));
  });

  it('takes over a stale lock', async () => {
    const store = new InstallStore({ home });
    await store.init();
    const exited = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await once(exited, 'exit');
    await writeLock(store, exited.pid ?? 0);

    const release = await store.lock();

    const owner = JSON.parse(await readFile(path.join(store.backendDir, '.lock'), 'utf8')) as { pid: number };
    expect(owner.pid).toBe(process.pid);
    await release();
    expect(existsSync(path.join(store.backendDir, '.lock'))).toBe(false);
  });

  it('rejects a second lock in-process', async () => {
    const first = new InstallStore({ home });
    const second = new InstallStore({ home });
    const release = await first.lock();

    const error = await rejectionOf(second.lock());
    await release();
    const again = await second.lock();
    await again();

    expect(error.code).toBe('LOCKED');
  });

  it('waits on a fresh unreadable lock', async () => {
    const store = new InstallStore({ home });
    await store.init();
    const lockPath = path.join(store.backendDir, '.lock');
    await writeFile(lockPath, '');

    const error = await rejectionOf(store.lock());
    const old = new Date(Date.now() - 60_000);
    await utimes(lockPath, old, old);
    const release = await store.lock();
    await release();

    expect(error.code).toBe('LOCKED');
  });
});
