import fs from 'node:fs/promises';
import path from 'node:path';
import { configFromEnvironment, loadConfig, parseConfig, type UpdaterConfig } from '../config';
import { createLogger } from '../logger';
import { checkResultJson } from '../http-api';
import { archiveFormat } from '../updater/assets';
import { findUpdate } from '../updater/check';
import { UpdateError } from '../updater/errors';
import { fetchUpdate } from '../updater/fetch-update';
import type { ReleaseFeed } from '../updater/feeds/types';
import { verifyLocalRelease } from '../updater/signature/release-verification';
import { RELEASE_MANIFEST_NAME } from '../updater/signature/release-manifest';
import { loadTrustedKeys } from '../updater/signature/trusted-keys';
import type { UpdateInfo } from '../updater/state';
import { assertNotBelowVerified, checkFreshness, TrustRecordStore } from '../updater/trust-record';
import { BackendUpdater, createConfiguredFeed } from '../updater/updater';
import { sha256File, verifySha256 } from '../updater/verify';
import { feedOverrides, FEED_OPTIONS, parseCommandArgs, parseVersionOption, requireString, type ParsedValues } from './args';
import { formatBytes, printResult, progressPrinter } from './output';

const logger = createLogger('cli');

/** Configuration for commands that run without a data folder. */
function configWithoutHome(values: ParsedValues): UpdaterConfig {
  return parseConfig({ home: process.cwd(), ...configFromEnvironment(), ...feedOverrides(values) });
}

/** Runs `action` while holding the data folder's lock, so a running `serve` or app is never raced. */
async function withUpdater<T>(config: UpdaterConfig, action: (updater: BackendUpdater) => Promise<T>): Promise<T> {
  const updater = new BackendUpdater({ config, logger });
  const release = await updater.store.lock();
  try {
    await updater.init();
    return await action(updater);
  } finally {
    await release();
  }
}

/** Describes who vouches for an update, for the text output. */
function signatureLine(update: UpdateInfo): string {
  if (update.signature.status === 'verified') return `Signature: verified, release manifest signed by trusted key ${update.signature.keyId}`;
  return 'Signature: NOT CHECKED, no trusted public keys are configured (--public-key), so nothing proves who made this release';
}

function feedFor(config: UpdaterConfig): ReleaseFeed {
  return createConfiguredFeed(config, logger);
}

export async function checkCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('check', args, { ...FEED_OPTIONS, current: { type: 'string' }, home: { type: 'string' } });
  let config: UpdaterConfig;
  let current: string | null;
  if (typeof values.current === 'string') {
    current = parseVersionOption(values.current, 'current');
    config = typeof values.home === 'string' ? await loadConfig(values.home, feedOverrides(values)) : configWithoutHome(values);
  } else {
    if (typeof values.home !== 'string' || values.home === '') {
      throw new UpdateError('INVALID_INPUT', 'Missing --current VERSION or --home DIR for "check": give the version to compare with, or the data folder whose installed version to use.');
    }
    const home = values.home;
    config = await loadConfig(home, feedOverrides(values));
    current = await new BackendUpdater({ config, logger }).currentVersion();
  }
  // Without a data folder there is no trust record to keep.
  const trust = typeof values.home === 'string' ? undefined : null;
  const outcome = await findUpdate({ feed: feedFor(config), config, logger, trust }, current);
  const result =
    outcome.kind === 'update'
      ? { updateAvailable: true as const, currentVersion: outcome.found.info.currentVersion, latestVersion: outcome.found.info.version, update: outcome.found.info }
      : { updateAvailable: false as const, currentVersion: outcome.currentVersion, latestVersion: outcome.latestVersion, update: null };
  const lines = result.update
    ? [`Update available: ${result.currentVersion} -> ${result.latestVersion}`, `Asset: ${result.update.assetName} (${result.update.assetSize === null ? 'size unknown' : formatBytes(result.update.assetSize)})`, signatureLine(result.update), `Published: ${result.update.publishedAt ?? 'unknown'}`, '', result.update.releaseNotes]
    : [`Up to date: ${result.currentVersion} (latest ${result.latestVersion ?? 'none'})`];
  printResult(values.json === true, checkResultJson(result), lines);
}

export async function downloadCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('download', args, { ...FEED_OPTIONS, current: { type: 'string' }, out: { type: 'string' } });
  const current = parseVersionOption(requireString(values, 'current', 'download'), 'current');
  const config = configWithoutHome(values);
  const outDir = path.resolve(typeof values.out === 'string' ? values.out : '.');
  const outcome = await findUpdate({ feed: feedFor(config), config, logger, trust: null }, current);
  if (outcome.kind === 'none') {
    throw new UpdateError('INVALID_STATE', `No update to download: ${current} is current (latest ${outcome.latestVersion ?? 'none'}).`);
  }
  const { info } = outcome.found;
  const draw = values.json ? null : progressPrinter(process.stderr);
  const downloadId = 'cli';
  const result = await fetchUpdate(
    {
      config,
      logger,
      downloadsDir: outDir,
      outputDir: outDir,
      trust: null,
      onProgress: (progress) => {
        const total = progress.total ?? info.assetSize;
        const percent = total ? Math.min(100, (progress.transferred / total) * 100) : null;
        draw?.({ type: 'downloading', seq: 0, update: info, downloadId, transferred: progress.transferred, total, bytesPerSecond: progress.bytesPerSecond, percent });
      },
    },
    outcome.found,
  );
  draw?.({ type: 'downloaded', seq: 0, update: info, sha256: result.sha256 });
  printResult(values.json === true, { version: info.version, file: result.file, size: result.size, sha256: result.sha256, checksum_source: result.checksumSource, signed_by: result.signedBy }, [
    `Downloaded ${info.assetName} ${info.version} to ${result.file}`,
    `Size: ${formatBytes(result.size)}, SHA-256 ${result.sha256} (${result.checksumSource ? `verified against ${result.checksumSource}` : 'no checksum published'})`,
    result.signedBy ? `Signature: verified, signed by trusted key ${result.signedBy}` : signatureLine(info),
  ]);
}

/**
 * Checks a local archive before an offline install and returns the version
 * to install. With trusted keys, its signature and the signed release
 * manifest decide, and the version comes from that manifest. Without keys,
 * `--version` is required and no signature is checked.
 */
async function verifyLocalArchive(config: UpdaterConfig, values: ParsedValues, file: string): Promise<{ version: string; signedBy: string | null }> {
  const versionOption = typeof values.version === 'string' ? parseVersionOption(values.version, 'version') : null;
  const keys = await loadTrustedKeys(config.publicKeys, config.home);
  if (keys.length === 0) {
    const version = versionOption ?? parseVersionOption(requireString(values, 'version', 'install'), 'version');
    logger.warn(`installing ${path.basename(file)} without a signature check: no trusted public keys are configured`);
    return { version, signedBy: null };
  }
  const manifestFile = path.resolve(typeof values.manifest === 'string' ? values.manifest : path.join(path.dirname(file), RELEASE_MANIFEST_NAME));
  const verified = await verifyLocalRelease({
    archive: file,
    manifestFile,
    keys,
    expected: { product: config.product, version: versionOption, assetName: path.basename(file), platform: config.platform, arch: config.arch },
  });
  assertNotBelowVerified(await TrustRecordStore.forHome(config.home).read(), verified.manifest.version, config.allowDowngrade);
  return { version: verified.manifest.version, signedBy: verified.keyId };
}

async function installFromFile(updater: BackendUpdater, values: ParsedValues, fileOption: string) {
  const file = path.resolve(fileOption);
  await fs.access(file).catch(() => {
    throw new UpdateError('INVALID_INPUT', `Archive not found: ${file}.`);
  });
  const format = archiveFormat(file);
  if (!format) throw new UpdateError('INVALID_INPUT', `Unsupported archive ${path.basename(file)}: expected .zip, .tar.gz or .tgz.`);
  if (typeof values.sha256 === 'string') verifySha256(await sha256File(file), values.sha256, path.basename(file));
  const { version, signedBy } = await verifyLocalArchive(updater.config, values, file);
  const result = await updater.installFile({ file, version, format });
  if (signedBy) await TrustRecordStore.forHome(updater.config.home).recordVerified(version);
  return result;
}

export async function installCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('install', args, {
    ...FEED_OPTIONS,
    home: { type: 'string' },
    file: { type: 'string' },
    version: { type: 'string' },
    sha256: { type: 'string' },
    manifest: { type: 'string' },
  });
  const home = requireString(values, 'home', 'install');
  const config = await loadConfig(home, feedOverrides(values));
  const result = await withUpdater(config, async (updater) => {
    if (typeof values.file === 'string') return installFromFile(updater, values, values.file);
    if (typeof values.feed !== 'string') throw new UpdateError('INVALID_INPUT', 'Missing source for "install": give --file ARCHIVE --version VERSION, or --feed URL.');
    // Being up to date is a success for scripts that run `install --feed` on a schedule.
    const check = await updater.check();
    if (!check.updateAvailable) return { upToDate: true as const, version: check.currentVersion, latest: check.latestVersion };
    if (!values.json) updater.onState(progressPrinter(process.stderr));
    return updater.install();
  });
  if ('upToDate' in result) {
    printResult(values.json === true, { installed: false, version: result.version, latest_version: result.latest }, [
      `Up to date: ${result.version} (latest ${result.latest ?? 'none'}); nothing to install.`,
    ]);
    return;
  }
  printResult(values.json === true, { installed: true, version: result.version, previous_version: result.previousVersion, health: result.health }, [
    `Installed ${result.version} (previous ${result.previousVersion ?? 'none'}); health check passed: ${JSON.stringify(result.health)}`,
  ]);
}

export async function rollbackCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('rollback', args, { home: { type: 'string' } });
  const config = await loadConfig(requireString(values, 'home', 'rollback'));
  const state = await withUpdater(config, (updater) => updater.store.rollback());
  printResult(values.json === true, { current_version: state.current, previous_version: state.previous }, [
    `Rolled back: active version is now ${state.current ?? '(none)'} (previous ${state.previous ?? 'none'}).`,
  ]);
}

/** Lines and JSON about signature checks: trusted keys, highest verified version, last successful check. */
async function trustStatus(config: UpdaterConfig): Promise<{ json: Record<string, unknown>; lines: string[] }> {
  const keys = await loadTrustedKeys(config.publicKeys, config.home);
  const record = await TrustRecordStore.forHome(config.home).read();
  const freshness = checkFreshness(record, config.maxDaysWithoutCheck);
  const lastCheck = record.lastSuccessfulCheckAt ?? 'never';
  const lines = [
    keys.length > 0 ? `Trusted keys: ${keys.map((key) => key.keyId).join(', ')}` : 'Trusted keys: none in the configuration (add "publicKeys" to config.json, or pass --public-key to each command; without keys releases are installed without a signature check)',
    `Highest verified version: ${record.highestVerifiedVersion ?? '(none)'}`,
    `Last successful check: ${lastCheck}${freshness.stale ? ` (WARNING: more than ${config.maxDaysWithoutCheck} days ago; updates may be blocked)` : ''}`,
  ];
  const json = {
    trusted_keys: keys.map((key) => key.keyId),
    highest_verified_version: record.highestVerifiedVersion,
    last_successful_check_at: record.lastSuccessfulCheckAt,
    check_overdue: freshness.stale,
  };
  return { json, lines };
}

export async function statusCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('status', args, { home: { type: 'string' }, 'public-key': FEED_OPTIONS['public-key'] });
  const config = await loadConfig(requireString(values, 'home', 'status'), feedOverrides(values));
  const updater = new BackendUpdater({ config, logger });
  const state = await updater.store.readState();
  const versions = await updater.store.installedVersions();
  const current = state.current ?? config.bundled?.version ?? null;
  const trust = await trustStatus(config);
  printResult(
    values.json === true,
    { current_version: current, previous_version: state.previous, installed_versions: versions, pending: state.pending, home: config.home, feed: config.feedUrl, ...trust.json },
    [
      `Active version: ${current ?? '(none)'}${state.current === null && config.bundled ? ' (bundled)' : ''}`,
      `Previous version: ${state.previous ?? '(none)'}`,
      `Installed: ${versions.length > 0 ? versions.join(', ') : '(none)'}`,
      `Interrupted install: ${state.pending ? `${state.pending.step} ${state.pending.version}` : 'none'}`,
      `Data folder: ${config.home}`,
      ...trust.lines,
    ],
  );
}
