/**
 * Signed releases end to end: BackendUpdater against a local feed with real
 * archives and the real Python backend. Every tampering case must fail with
 * its code while 2.0.0 keeps running and nothing new is installed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../main/config';
import { startLocalFeed, type LocalFeed, type LocalRelease } from '../main/demo/local-feed';
import type { Logger } from '../main/logger';
import { listReleaseFiles, writeChecksums } from '../main/release/checksums';
import { packSampleBackend } from '../main/release/pack-sample';
import { signRelease } from '../main/release/sign-release';
import { findFreePort } from '../main/updater/apply';
import { findUpdate } from '../main/updater/check';
import { fetchUpdate } from '../main/updater/fetch-update';
import { createFeed } from '../main/updater/feeds';
import { UpdateError } from '../main/updater/errors';
import { formatPublicKey, formatSignature } from '../main/updater/signature/minisign';
import { formatReleaseManifest, parseReleaseManifest, RELEASE_MANIFEST_NAME, type ReleaseManifest } from '../main/updater/signature/release-manifest';
import { generateSecretKey, publicKeyOf, type MinisignSecretKey } from '../main/updater/signature/secret-key';
import { signBuffer } from '../main/updater/signature/sign';
import { TrustRecordStore } from '../main/updater/trust-record';
import { BackendUpdater } from '../main/updater/updater';
import { backendHealth, makeTempDir } from './helpers/world';

const LINUX_ZIP = (version: string, target = 'linux-x64'): string => `python-backend-${version}-${target}.zip`;

interface RecordingLogger extends Logger {
  warnings: string[];
}

function recordingLogger(): RecordingLogger {
  const warnings: string[] = [];
  return { warnings, debug: () => undefined, info: () => undefined, warn: (message) => warnings.push(message), error: () => undefined };
}

interface World {
  root: string;
  feed: LocalFeed;
  updater: BackendUpdater;
  logger: RecordingLogger;
}

let world: World | null = null;
let root: string;
let keyA: MinisignSecretKey;
let keyB: MinisignSecretKey;

beforeEach(async () => {
  root = await makeTempDir('bu-signed-');
  keyA = generateSecretKey();
  keyB = generateSecretKey();
});

afterEach(async () => {
  await world?.updater.stopBackend();
  await world?.feed.close();
  world = null;
  await fs.rm(root, { recursive: true, force: true });
});

/**
 * Packs the sample backend for each target into `releases/<folder>` and signs
 * the folder like a publisher. Every target after the first carries a payload
 * file, so that each build has different bytes.
 */
async function signedRelease(version: string, signer: MinisignSecretKey, targets = ['linux-x64'], folder = version): Promise<string> {
  const outDir = path.join(root, 'releases', folder);
  for (const [index, target] of targets.entries()) {
    await packSampleBackend({ version, outDir, formats: ['zip'], platformSuffix: target, payloadBytes: index * 1024 });
  }
  await signRelease({ dir: outDir, secretKey: signer });
  await writeChecksums(outDir);
  return outDir;
}

async function feedRelease(version: string, dir: string): Promise<LocalRelease> {
  // An attacker who controls the server publishes checksums that match whatever it serves.
  await writeChecksums(dir);
  const files = (await listReleaseFiles(dir)).map((name) => path.join(dir, name));
  return { version, notes: `Release ${version}`, files };
}

async function writeKeyFiles(keys: MinisignSecretKey[]): Promise<string[]> {
  const files: string[] = [];
  for (const key of keys) {
    const file = path.join(root, 'keys', `${key.keyId}.pub`);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, formatPublicKey(publicKeyOf(key)));
    files.push(file);
  }
  return files;
}

/**
 * Starts the feed with 2.0.0 and `next`, installs and starts 2.0.0, and
 * trusts `trusted`. `feedKind` chooses the Releases API shape or the static manifest.
 */
async function startWorld(next: LocalRelease, trusted: MinisignSecretKey[] = [keyA], feedKind: 'api' | 'manifest' = 'api'): Promise<World> {
  const oldDir = await signedRelease('2.0.0', keyA);
  const feed = await startLocalFeed({ releases: [await feedRelease('2.0.0', oldDir), next] });
  const config = parseConfig({
    home: path.join(root, 'home'),
    feedUrl: feedKind === 'api' ? feed.url : feed.manifestUrl,
    platform: 'linux',
    arch: 'x64',
    publicKeys: await writeKeyFiles(trusted),
    backend: { port: await findFreePort(), startTimeoutMs: 8_000, stopTimeoutMs: 3_000 },
  });
  const logger = recordingLogger();
  const updater = new BackendUpdater({ config, logger, keepBackendRunning: true });
  world = { root, feed, updater, logger };
  await updater.init();
  await updater.installFile({ file: path.join(oldDir, LINUX_ZIP('2.0.0')), version: '2.0.0', format: 'zip' });
  return world;
}

/** Files left in the downloads folder, at any depth. */
async function downloadedFiles(updater: BackendUpdater): Promise<string[]> {
  const entries = await fs.readdir(updater.store.downloadsDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

/** Runs an install that must fail with `code` and checks that 2.0.0 is still the only version and still running. */
async function expectRejected(current: World, code: string): Promise<UpdateError> {
  const error = await current.updater.install().then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UpdateError);
  expect((error as UpdateError).code).toBe(code);
  expect(await current.updater.store.installedVersions()).toEqual(['2.0.0']);
  expect((await current.updater.store.readState()).current).toBe('2.0.0');
  expect((await backendHealth(current.updater.config.backend.port)).body.version).toBe('2.0.0');
  expect((await downloadedFiles(current.updater)).filter((name) => name.endsWith('.zip'))).toEqual([]);
  const state = current.updater.getState();
  expect(state.type === 'error' ? state.error.code : state.type).toBe(code);
  return error as UpdateError;
}

async function expectInstalled(current: World, keyId: string): Promise<void> {
  const check = await current.updater.check();
  expect(check.update?.signature).toEqual({ status: 'verified', keyId });
  const result = await current.updater.install();
  expect(result.version).toBe('2.1.0');
  expect((await backendHealth(current.updater.config.backend.port)).body.version).toBe('2.1.0');
  expect((await TrustRecordStore.forHome(current.updater.config.home).read()).highestVerifiedVersion).toBe('2.1.0');
}

function flipBase64Byte(line: string, index: number): string {
  const bytes = Buffer.from(line, 'base64');
  bytes[index] = (bytes[index] as number) ^ 0x01;
  return bytes.toString('base64');
}

/** Rewrites line `lineIndex` (0-3) of a `.minisig` file. */
async function editSignatureLine(file: string, lineIndex: number, edit: (line: string) => string): Promise<void> {
  const lines = (await fs.readFile(file, 'utf8')).split('\n');
  lines[lineIndex] = edit(lines[lineIndex] as string);
  await fs.writeFile(file, lines.join('\n'));
}

/** Signs a changed manifest with `signer`, as a publisher who made a mistake (or a stolen key) would. */
async function resignManifest(dir: string, signer: MinisignSecretKey, edit: (manifest: ReleaseManifest) => ReleaseManifest): Promise<void> {
  const file = path.join(dir, RELEASE_MANIFEST_NAME);
  const text = formatReleaseManifest(edit(parseReleaseManifest(await fs.readFile(file, 'utf8'))));
  await fs.writeFile(file, text);
  await fs.writeFile(`${file}.minisig`, formatSignature(signBuffer(Buffer.from(text), RELEASE_MANIFEST_NAME, signer)));
}

describe('signed update', () => {
  it('installs a release signed by a trusted key', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    const current = await startWorld(await feedRelease('2.1.0', dir));
    await expectInstalled(current, keyA.keyId);
  });

  it('installs through a static manifest feed', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    const current = await startWorld(await feedRelease('2.1.0', dir), [keyA], 'manifest');
    expect(current.updater.config.feedUrl).toContain('/manifest.json');
    await expectInstalled(current, keyA.keyId);
  });

  it('rejects a flipped bit in the archive', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    const file = path.join(dir, LINUX_ZIP('2.1.0'));
    const bytes = await fs.readFile(file);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] as number) ^ 0x01;
    await fs.writeFile(file, bytes);
    const error = await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'SIGNATURE_INVALID');
    expect(error.message).toContain(LINUX_ZIP('2.1.0'));
  });

  it.each([
    ['the signature', 1, (line: string) => flipBase64Byte(line, 40)],
    ['the trusted comment', 2, (line: string) => line.replace('timestamp:', 'timestamp:1')],
    ['the global signature', 3, (line: string) => flipBase64Byte(line, 5)],
  ])('rejects a changed bit in %s', async (_part, lineIndex, edit) => {
    const dir = await signedRelease('2.1.0', keyA);
    await editSignatureLine(path.join(dir, `${LINUX_ZIP('2.1.0')}.minisig`), lineIndex, edit);
    await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'SIGNATURE_INVALID');
  });

  it('rejects a changed manifest signature', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    await editSignatureLine(path.join(dir, `${RELEASE_MANIFEST_NAME}.minisig`), 1, (line) => flipBase64Byte(line, 50));
    await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'SIGNATURE_INVALID');
  });

  it('rejects a key id not in the list', async () => {
    const dir = await signedRelease('2.1.0', keyB);
    const error = await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'SIGNATURE_INVALID');
    expect(error.details?.keyId).toBe(keyB.keyId);
  });

  it('rejects a wrong key behind the trusted id', async () => {
    const impostor = { ...generateSecretKey(), keyNumber: keyA.keyNumber, keyId: keyA.keyId };
    const dir = await signedRelease('2.1.0', impostor);
    await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'SIGNATURE_INVALID');
  });

  it('rejects a release without signatures', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    await fs.rm(path.join(dir, `${LINUX_ZIP('2.1.0')}.minisig`));
    await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'SIGNATURE_MISSING');
  });

  it('rejects a release without a manifest', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    await fs.rm(path.join(dir, RELEASE_MANIFEST_NAME));
    await fs.rm(path.join(dir, `${RELEASE_MANIFEST_NAME}.minisig`));
    await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'SIGNATURE_MISSING');
  });

  it("rejects another platform's signed build", async () => {
    const dir = await signedRelease('2.1.0', keyA, ['linux-x64', 'win32-x64']);
    // The signed Windows archive and its valid signature, served under the Linux name.
    for (const suffix of ['', '.minisig']) {
      await fs.copyFile(path.join(dir, `${LINUX_ZIP('2.1.0', 'win32-x64')}${suffix}`), path.join(dir, `${LINUX_ZIP('2.1.0')}${suffix}`));
    }
    const error = await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'MANIFEST_MISMATCH');
    expect(error.message).toContain('signed manifest');
  });

  it("rejects another asset's signed archive", async () => {
    const dir = await signedRelease('2.1.0', keyA, ['linux-x64', 'linux-arm64']);
    for (const suffix of ['', '.minisig']) {
      await fs.copyFile(path.join(dir, `${LINUX_ZIP('2.1.0', 'linux-arm64')}${suffix}`), path.join(dir, `${LINUX_ZIP('2.1.0')}${suffix}`));
    }
    await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'MANIFEST_MISMATCH');
  });

  it('rejects an older release tagged as new', async () => {
    const oldCopy = await signedRelease('2.0.0', keyA, ['linux-x64'], 'replayed');
    const error = await expectRejected(await startWorld(await feedRelease('2.2.0', oldCopy)), 'MANIFEST_MISMATCH');
    expect(error.message).toContain('signed for version 2.0.0');
  });

  it('rejects a manifest with another size', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    await resignManifest(dir, keyA, (manifest) => ({ ...manifest, assets: manifest.assets.map((entry) => ({ ...entry, size: entry.size + 1 })) }));
    await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'MANIFEST_MISMATCH');
  });

  it('rejects a manifest with another hash', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    await resignManifest(dir, keyA, (manifest) => ({ ...manifest, assets: manifest.assets.map((entry) => ({ ...entry, sha256: 'c'.repeat(64) })) }));
    await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'MANIFEST_MISMATCH');
  });

  it('rejects a version below the record', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    await TrustRecordStore.forHome(path.join(root, 'home')).recordVerified('2.2.0');
    const error = await expectRejected(await startWorld(await feedRelease('2.1.0', dir)), 'DOWNGRADE_REJECTED');
    expect(error.message).toContain('2.2.0');
  });

  it('warns when checks stopped succeeding', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    const current = await startWorld(await feedRelease('2.1.0', dir));
    const store = TrustRecordStore.forHome(current.updater.config.home);
    await store.recordSuccessfulCheck(new Date(Date.now() - 30 * 24 * 60 * 60 * 1000));
    await current.updater.check();
    expect(current.logger.warnings.some((line) => line.includes('no update check has succeeded for 30 days'))).toBe(true);
    const record = await store.read();
    expect(Date.now() - Date.parse(record.lastSuccessfulCheckAt ?? '')).toBeLessThan(60_000);
  });
});

describe('signed download cache', () => {
  it('verifies a cached archive again', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    const current = await startWorld(await feedRelease('2.1.0', dir));
    const { config } = current.updater;
    const context = { config, logger: current.logger, downloadsDir: path.join(root, 'cache') };
    const feed = createFeed({ url: config.feedUrl, maxPages: 1, idleTimeoutMs: 5_000, logger: current.logger });
    const outcome = await findUpdate({ feed, config, logger: current.logger }, '2.0.0');
    if (outcome.kind !== 'update') throw new Error('expected an update');

    const first = await fetchUpdate(context, outcome.found);
    expect(first).toMatchObject({ fromCache: false, signedBy: keyA.keyId, checksumSource: 'manifest' });
    const second = await fetchUpdate(context, outcome.found);
    expect(second).toMatchObject({ fromCache: true, signedBy: keyA.keyId, sha256: first.sha256 });

    const bytes = await fs.readFile(first.file);
    bytes[100] = (bytes[100] as number) ^ 0x01;
    await fs.writeFile(first.file, bytes);
    const third = await fetchUpdate(context, outcome.found);
    expect(third).toMatchObject({ fromCache: false, signedBy: keyA.keyId, sha256: first.sha256 });
  });
});

describe('key rotation', () => {
  it('accepts the next key once listed', async () => {
    const dir = await signedRelease('2.1.0', keyB);
    await expectInstalled(await startWorld(await feedRelease('2.1.0', dir), [keyA, keyB]), keyB.keyId);
  });

  it('keeps accepting the old key while listed', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    await expectInstalled(await startWorld(await feedRelease('2.1.0', dir), [keyA, keyB]), keyA.keyId);
  });

  it('rejects the old key once removed', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    await expectRejected(await startWorld(await feedRelease('2.1.0', dir), [keyB]), 'SIGNATURE_INVALID');
  });
});

describe('unsigned update', () => {
  it('installs with a warning without keys', async () => {
    const dir = await signedRelease('2.1.0', keyA);
    const current = await startWorld(await feedRelease('2.1.0', dir), []);
    const check = await current.updater.check();
    expect(check.update?.signature).toEqual({ status: 'unsigned', keyId: null });
    expect(current.logger.warnings.some((line) => line.includes('not signature-checked'))).toBe(true);
    expect((await current.updater.install()).version).toBe('2.1.0');
    expect((await TrustRecordStore.forHome(current.updater.config.home).read()).highestVerifiedVersion).toBeNull();
  });
});

describe('headless demo', () => {
  it('rejects the tampered release, installs the signed one', async () => {
    const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/backend-updater.js');
    const child = spawn(process.execPath, [bin, 'demo', '--headless'], { env: { ...process.env, BACKEND_UPDATER_LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

    expect(code).toBe(0);
    const keyId = /Release signing key \(made for this run\): ([0-9A-F]{16})/.exec(stdout)?.[1];
    expect(keyId).toBeDefined();
    expect(stdout).toMatch(/Rejected: SIGNATURE_INVALID: Signature of python-backend-2\.1\.0\.tar\.gz does not match/);
    expect(stdout).toMatch(/Backend after the rejected update: GET \/health -> 200 .*"version": "2\.0\.0"/);
    expect(stdout).toContain(`Signature: release manifest signed by trusted key ${keyId}`);
    expect(stdout).toMatch(/Backend after the update: GET \/health -> 200 .*"version": "2\.1\.0"/);
  }, 120_000);
});
