/**
 * `backend-updater release`: keygen, pack, sign, checksums and check, run as
 * real processes, then the release they make installed by the updater and
 * checked by the real minisign tool.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalFeed, type LocalFeed } from '../main/demo/local-feed';
import { listReleaseFiles } from '../main/release/checksums';
import { packRelease } from '../main/release/pack';
import { extractArchive } from '../main/updater/archive';
import { SAMPLE_BACKEND_DIR } from '../main/release/pack-sample';
import { makeTempDir } from './helpers/world';
import { describeWithMinisign, runMinisign } from './helpers/minisign';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/backend-updater.js');
const LINUX_ARCHIVE = 'python-backend-3.0.0-linux-x64.tar.gz';
const WINDOWS_ARCHIVE = 'python-backend-3.0.0-win32-x64.zip';

let dir: string;
let feed: LocalFeed | null = null;
/** Folder where the CLI made one key pair and one signed release for all tests to copy. */
let template: string;
let templateRuns: CliRun[] = [];

beforeAll(async () => {
  template = await makeTempDir('bu-release-template-');
  dir = template;
  templateRuns = await makeRelease();
}, 120_000);

afterAll(async () => {
  await fs.rm(template, { recursive: true, force: true });
});

beforeEach(async () => {
  dir = await makeTempDir('bu-release-cli-');
});

afterEach(async () => {
  await feed?.close();
  feed = null;
  await fs.rm(dir, { recursive: true, force: true });
});

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, BACKEND_UPDATER_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function expectOk(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const run = await runCli(args, env);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return run;
}

/** Copies the template's key pair and signed release into this test's folder and returns the release folder. */
async function copyRelease(): Promise<string> {
  for (const name of ['k.pub', 'k.key', 'release']) await fs.cp(path.join(template, name), path.join(dir, name), { recursive: true });
  return path.join(dir, 'release');
}

/** Writes a backend folder: the sample backend's main.py, a VERSION file and an executable helper script. */
async function makeSource(version = '3.0.0'): Promise<string> {
  const source = path.join(dir, 'backend');
  await fs.mkdir(path.join(source, 'bin'), { recursive: true });
  await fs.copyFile(path.join(SAMPLE_BACKEND_DIR, 'main.py'), path.join(source, 'main.py'));
  await fs.writeFile(path.join(source, 'VERSION'), `${version}\n`);
  await fs.writeFile(path.join(source, 'bin', 'tool.sh'), '#!/bin/sh\necho tool\n');
  await fs.chmod(path.join(source, 'bin', 'tool.sh'), 0o755);
  return source;
}

/** Runs keygen (unencrypted), pack for Linux and Windows, sign and checksums into `dir/release`; returns every run. */
async function makeRelease(): Promise<CliRun[]> {
  const source = await makeSource();
  const release = path.join(dir, 'release');
  return [
    await runCli(['release', 'keygen', '--public-key', 'k.pub', '--secret-key', 'k.key', '--unencrypted']),
    await runCli(['release', 'pack', '--source', source, '--version', '3.0.0', '--platform', 'linux', '--arch', 'x64', '--out', release]),
    await runCli(['release', 'pack', '--source', source, '--version', '3.0.0', '--platform', 'win32', '--arch', 'x64', '--out', release]),
    await runCli(['release', 'sign', '--secret-key', 'k.key', '--dir', release]),
    await runCli(['release', 'checksums', '--dir', release]),
  ];
}

async function serveRelease(release: string, version = '3.0.0'): Promise<LocalFeed> {
  const files = (await listReleaseFiles(release)).map((name) => path.join(release, name));
  feed = await startLocalFeed({ releases: [{ version, notes: 'Signed release', files }] });
  return feed;
}

async function flipMiddleBit(file: string): Promise<void> {
  const bytes = await fs.readFile(file);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = (bytes[middle] as number) ^ 0x01;
  await fs.writeFile(file, bytes);
}

describe('release keygen, pack, sign and check', () => {
  it('makes a release the updater installs', async () => {
    for (const run of templateRuns) {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    }
    expect(templateRuns[3]?.stdout).toContain('Signed 2 archive(s) of python-backend 3.0.0');
    expect((await fs.stat(path.join(template, 'k.key'))).mode & 0o777).toBe(0o600);
    const release = await copyRelease();
    expect(await listReleaseFiles(release)).toEqual([
      'SHA256SUMS',
      LINUX_ARCHIVE,
      `${LINUX_ARCHIVE}.minisig`,
      WINDOWS_ARCHIVE,
      `${WINDOWS_ARCHIVE}.minisig`,
      'python-backend-release.json',
      'python-backend-release.json.minisig',
    ]);
    const check = await expectOk(['release', 'check', '--dir', release, '--public-key', 'k.pub']);
    expect(check.stdout).toContain('OK: the updater accepts this release.');

    const served = await serveRelease(release);
    const home = path.join(dir, 'home');
    const install = await expectOk(['install', '--home', home, '--feed', served.url, '--public-key', 'k.pub', '--platform', 'linux', '--arch', 'x64', '--json']);
    expect(JSON.parse(install.stdout)).toMatchObject({ version: '3.0.0', health: { version: '3.0.0' } });
    const tool = await fs.stat(path.join(home, 'backend', 'versions', '3.0.0', 'bin', 'tool.sh'));
    expect(tool.mode & 0o111).not.toBe(0);

    const status = JSON.parse((await expectOk(['status', '--home', home, '--json'])).stdout);
    expect(status).toMatchObject({ current_version: '3.0.0', highest_verified_version: '3.0.0' });
  }, 120_000);

  it('checks a signed release from the feed', async () => {
    const release = await copyRelease();
    const served = await serveRelease(release);
    const run = await expectOk(['check', '--feed', served.url, '--current', '2.0.0', '--public-key', 'k.pub', '--platform', 'linux', '--arch', 'x64', '--json']);
    const keyId = /minisign public key ([0-9A-F]{16})/.exec(await fs.readFile(path.join(dir, 'k.pub'), 'utf8'))?.[1];
    expect(JSON.parse(run.stdout)).toMatchObject({ update_available: true, latest_version: '3.0.0', asset_name: LINUX_ARCHIVE, signature: { status: 'verified', key_id: keyId } });
  }, 120_000);

  it('installs a signed file offline', async () => {
    const release = await copyRelease();
    const home = path.join(dir, 'home');
    const archive = path.join(release, LINUX_ARCHIVE);
    const args = ['install', '--home', home, '--file', archive, '--public-key', 'k.pub', '--platform', 'linux', '--arch', 'x64', '--json'];
    expect(JSON.parse((await expectOk(args)).stdout)).toMatchObject({ version: '3.0.0' });

    await flipMiddleBit(archive);
    const tampered = await runCli(args);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('SIGNATURE_INVALID');
  }, 120_000);

  it('reports a missing signature', async () => {
    const release = await copyRelease();
    await fs.rm(path.join(release, `${WINDOWS_ARCHIVE}.minisig`));
    const run = await runCli(['release', 'check', '--dir', release, '--public-key', 'k.pub']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`ERROR [SIGNATURE_MISSING] ${WINDOWS_ARCHIVE}:`);
    expect(run.stderr).toContain('Error [SIGNATURE_MISSING]');
  }, 120_000);

  it('reports a tampered archive', async () => {
    const release = await copyRelease();
    await flipMiddleBit(path.join(release, LINUX_ARCHIVE));
    const run = await runCli(['release', 'check', '--dir', release, '--public-key', 'k.pub']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('[CHECKSUM_MISMATCH]');
    expect(run.stdout).toContain('[SIGNATURE_INVALID]');
    expect(run.stdout).toContain('[MANIFEST_MISMATCH]');
  }, 120_000);

  it('reports names the updater skips', async () => {
    const release = await copyRelease();
    await fs.copyFile(path.join(release, LINUX_ARCHIVE), path.join(release, 'python-backend-3.0-linux-x64.tar.gz'));
    await fs.copyFile(path.join(release, LINUX_ARCHIVE), path.join(release, 'python-backend-3.0.0-linux-x64-debug.zip'));
    const run = await runCli(['release', 'check', '--dir', release]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('ERROR [NO_MATCHING_ASSET] python-backend-3.0-linux-x64.tar.gz:');
    expect(run.stdout).toContain('WARNING [SIGNATURE_MISSING]');
  }, 120_000);

  it('lints a published release', async () => {
    const release = await copyRelease();
    const served = await serveRelease(release);
    const ok = await expectOk(['release', 'check', '--feed', served.url, '--public-key', 'k.pub']);
    expect(ok.stdout).toContain('Release v3.0.0');
    await served.close();
    feed = null;

    const retagged = await serveRelease(release, '3.1.0');
    const run = await runCli(['release', 'check', '--feed', retagged.url, '--public-key', 'k.pub']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('tagged 3.1.0');
    expect(run.stderr).toContain('Error [MANIFEST_MISMATCH]');
  }, 120_000);

  it('refuses to overwrite a key', async () => {
    await expectOk(['release', 'keygen', '--public-key', 'k.pub', '--secret-key', 'k.key', '--unencrypted']);
    const before = await fs.readFile(path.join(dir, 'k.key'), 'utf8');
    const run = await runCli(['release', 'keygen', '--public-key', 'k.pub', '--secret-key', 'k.key', '--unencrypted']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('already exists');
    expect(await fs.readFile(path.join(dir, 'k.key'), 'utf8')).toBe(before);
  });
});

describe('release pack', () => {
  it('keeps executable bits', async () => {
    const source = await makeSource();
    for (const format of ['zip', 'tar.gz'] as const) {
      const packed = await packRelease({ source, version: '3.0.0', platform: 'linux', arch: 'x64', format, outDir: path.join(dir, 'out') });
      const destination = path.join(dir, `extracted-${format}`);
      await extractArchive({ file: packed.file, format, destination });
      expect((await fs.stat(path.join(destination, 'bin', 'tool.sh'))).mode & 0o111).not.toBe(0);
      expect((await fs.stat(path.join(destination, 'VERSION'))).mode & 0o111).toBe(0);
      expect(packed.files).toBe(3);
    }
  });

  it('rejects a symbolic link', async () => {
    const source = await makeSource();
    await fs.symlink('/etc/passwd', path.join(source, 'passwd'));
    const run = await runCli(['release', 'pack', '--source', source, '--version', '3.0.0', '--out', path.join(dir, 'out')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error [UNSAFE_ARCHIVE_ENTRY]');
    expect(run.stderr).toContain('symbolic link');
  });

  it('rejects a missing entry point', async () => {
    const source = await makeSource();
    await fs.rm(path.join(source, 'main.py'));
    const run = await runCli(['release', 'pack', '--source', source, '--version', '3.0.0', '--out', path.join(dir, 'out')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error [ENTRY_POINT_MISSING]');
  });

  it('rejects an output folder inside the source', async () => {
    const source = await makeSource();
    const run = await runCli(['release', 'pack', '--source', source, '--version', '3.0.0', '--out', path.join(source, 'dist')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('inside the release folder');
  });

  it('rejects an unknown platform', async () => {
    const source = await makeSource();
    const run = await runCli(['release', 'pack', '--source', source, '--version', '3.0.0', '--platform', 'windows', '--out', path.join(dir, 'out')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Unsupported platform "windows"');
  });
});

describeWithMinisign('release tools with minisign', () => {
  it('makes files that minisign verifies', async () => {
    const release = await copyRelease();
    for (const name of [LINUX_ARCHIVE, WINDOWS_ARCHIVE, 'python-backend-release.json']) {
      const run = await runMinisign(['-Vm', path.join(release, name), '-p', path.join(dir, 'k.pub')]);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain(`file:${name}`);
    }
  }, 120_000);

  it('signs with a key made by minisign', async () => {
    const source = await makeSource();
    const release = path.join(dir, 'release');
    const generated = await runMinisign(['-G', '-p', path.join(dir, 'm.pub'), '-s', path.join(dir, 'm.key')], 'minisign pw\nminisign pw\n');
    expect(generated.status).toBe(0);
    await fs.writeFile(path.join(dir, 'password'), 'minisign pw\n');
    await expectOk(['release', 'pack', '--source', source, '--version', '3.0.0', '--platform', 'linux', '--arch', 'x64', '--out', release]);
    await expectOk(['release', 'sign', '--secret-key', 'm.key', '--password-file', 'password', '--dir', release]);
    expect((await runMinisign(['-Vm', path.join(release, LINUX_ARCHIVE), '-p', path.join(dir, 'm.pub')])).status).toBe(0);
    await expectOk(['release', 'checksums', '--dir', release]);
    await expectOk(['release', 'check', '--dir', release, '--public-key', 'm.pub']);
  }, 180_000);

  it('writes an encrypted key minisign reads', async () => {
    await expectOk(['release', 'keygen', '--public-key', 'e.pub', '--secret-key', 'e.key'], { BACKEND_UPDATER_KEY_PASSWORD: 'release pw' });
    expect(await fs.readFile(path.join(dir, 'e.key'), 'utf8')).toContain('minisign encrypted secret key');
    const file = path.join(dir, 'data.bin');
    await fs.writeFile(file, 'data');
    expect((await runMinisign(['-S', '-s', path.join(dir, 'e.key'), '-m', file], 'wrong\n')).status).not.toBe(0);
    expect((await runMinisign(['-S', '-s', path.join(dir, 'e.key'), '-m', file], 'release pw\n')).status).toBe(0);
    expect((await runMinisign(['-V', '-p', path.join(dir, 'e.pub'), '-m', file])).status).toBe(0);
  }, 180_000);
});
