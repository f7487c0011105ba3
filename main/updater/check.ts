import semver from 'semver';
import type { UpdaterConfig } from '../config';
import type { Logger } from '../logger';
import { selectAsset, type AssetChoice } from './assets';
import type { Release, ReleaseFeed } from './feeds/types';
import { verifyReleaseManifest, type SignedRelease } from './signature/release-verification';
import { loadTrustedKeys } from './signature/trusted-keys';
import type { NoUpdateReason, UpdateInfo, UpdateSignature } from './state';
import { assertNotBelowVerified, checkFreshness, TrustRecordStore } from './trust-record';
import { selectRelease } from './versions';

/** Version assumed when nothing is installed, so that any release is an update. */
export const NOTHING_INSTALLED_VERSION = '0.0.0';

export interface FoundUpdate {
  info: UpdateInfo;
  choice: AssetChoice;
  release: Release;
  /** The verified release manifest when trusted keys are configured, else null. */
  signed: SignedRelease | null;
}

export type CheckOutcome =
  | { kind: 'update'; found: FoundUpdate }
  | { kind: 'none'; currentVersion: string; latestVersion: string | null; reason: NoUpdateReason };

export interface CheckContext {
  feed: ReleaseFeed;
  config: UpdaterConfig;
  logger: Logger;
  signal?: AbortSignal;
  /**
   * Trust record that stores check times and the highest verified version.
   * @default `<config.home>/trust.json`; null keeps no record (a check without a data folder)
   */
  trust?: TrustRecordStore | null;
}

/** Returns the trust record a context uses: its own, or the data folder's when none is given. */
export function trustStoreOf(context: { config: UpdaterConfig; trust?: TrustRecordStore | null }): TrustRecordStore | null {
  return context.trust === undefined ? TrustRecordStore.forHome(context.config.home) : context.trust;
}

/** Logs a warning when no check has succeeded for longer than `maxDaysWithoutCheck`. */
async function warnWhenFrozen(trust: TrustRecordStore, config: UpdaterConfig, logger: Logger): Promise<void> {
  const record = await trust.recordCheckAttempt();
  const freshness = checkFreshness(record, config.maxDaysWithoutCheck);
  if (!freshness.stale) return;
  const since = freshness.lastSuccessfulCheckAt ?? 'never';
  logger.warn(`no update check has succeeded for ${freshness.days} days (last success: ${since}; limit ${config.maxDaysWithoutCheck} days). Updates may be blocked; check the network and the feed ${config.feedUrl}.`);
}

/**
 * Verifies the release manifest when trusted keys are configured and returns
 * the signature status; logs a warning for every check without keys.
 */
async function verifySignedRelease(context: CheckContext, release: Release, version: string, choice: AssetChoice): Promise<{ signed: SignedRelease | null; signature: UpdateSignature }> {
  const { config, logger } = context;
  const keys = await loadTrustedKeys(config.publicKeys, config.home);
  if (keys.length === 0) {
    logger.warn(`release ${release.tag} is not signature-checked: no trusted public keys are configured (publicKeys or --public-key), so nothing proves who made it`);
    return { signed: null, signature: { status: 'unsigned', keyId: null } };
  }
  const signed = await verifyReleaseManifest(context, {
    release,
    archive: choice.archive,
    keys,
    expected: { product: config.product, version, assetName: choice.archive.name, platform: config.platform, arch: config.arch, size: choice.archive.size },
  });
  return { signed, signature: { status: 'verified', keyId: signed.keyId } };
}

/**
 * Lists the feed's releases, selects the highest eligible version above
 * `currentVersion` and the one archive for the configured platform. With
 * trusted keys, the release manifest must verify (SIGNATURE_MISSING,
 * SIGNATURE_INVALID, MANIFEST_MISMATCH) and its version must not be lower
 * than the highest verified one (DOWNGRADE_REJECTED) before an update is offered.
 */
export async function findUpdate(context: CheckContext, currentVersion: string | null): Promise<CheckOutcome> {
  const { config, logger } = context;
  const current = currentVersion ?? NOTHING_INSTALLED_VERSION;
  const trust = trustStoreOf(context);
  if (trust) await warnWhenFrozen(trust, config, logger);

  const releases = await context.feed.listReleases({ signal: context.signal });
  const selection = selectRelease(releases, {
    currentVersion: current,
    allowPrerelease: config.allowPrerelease,
    allowDowngrade: config.allowDowngrade,
    channel: config.channel,
    logger,
  });
  if (selection.kind === 'none') {
    await trust?.recordSuccessfulCheck();
    return { kind: 'none', currentVersion: current, latestVersion: selection.latestVersion, reason: selection.reason };
  }

  const { release } = selection;
  const choice = selectAsset(release, { platform: config.platform as NodeJS.Platform, arch: config.arch });
  const { signed, signature } = await verifySignedRelease(context, release, selection.version, choice);
  // The signed manifest's version equals the tag's here, because verifySignedRelease rejects any other.
  const version = signed?.manifest.version ?? selection.version;
  if (signed && trust) assertNotBelowVerified(await trust.read(), version, config.allowDowngrade);

  const info: UpdateInfo = {
    version,
    currentVersion: current,
    releaseName: release.name || release.tag,
    releaseNotes: release.notes,
    publishedAt: release.publishedAt,
    prerelease: release.prerelease || semver.prerelease(version) !== null,
    assetName: choice.archive.name,
    assetSize: signed?.entry.size ?? choice.archive.size,
    downloadUrl: choice.archive.url,
    signature,
  };
  await trust?.recordSuccessfulCheck();
  return { kind: 'update', found: { info, choice, release, signed } };
}
