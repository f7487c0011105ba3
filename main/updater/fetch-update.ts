import fs from 'node:fs/promises';
import path from 'node:path';
import type { UpdaterConfig } from '../config';
import type { Logger } from '../logger';
import { trustStoreOf, type FoundUpdate } from './check';
import { downloadFile, type DownloadProgress } from './download';
import { UpdateError } from './errors';
import { credentials, fetchAssetBytes } from './signature/fetch-asset';
import type { MinisignPublicKey } from './signature/minisign';
import { verifyDownloadedArchive, verifyReleaseManifest, type SignedRelease } from './signature/release-verification';
import { loadTrustedKeys } from './signature/trusted-keys';
import { assertNotBelowVerified, type TrustRecordStore } from './trust-record';
import { resolveExpectedSha256, verifyCachedFile, verifySha256, type ChecksumSource, type ExpectedSha256 } from './verify';

/** Largest checksum file read into memory. */
const MAX_CHECKSUM_FILE_BYTES = 1024 * 1024;

export interface FetchContext {
  config: UpdaterConfig;
  logger: Logger;
  downloadsDir: string;
  /** Writes the archive straight into this folder instead of the per-version cache folder. */
  outputDir?: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /**
   * Trust record that stores the highest verified version.
   * @default `<config.home>/trust.json`; null keeps no record (a download without a data folder)
   */
  trust?: TrustRecordStore | null;
}

export interface FetchedUpdate {
  file: string;
  sha256: string;
  size: number;
  /** Source of the expected hash (`manifest`: the signed release manifest), or null when the release publishes none. */
  checksumSource: ChecksumSource | 'manifest' | null;
  fromCache: boolean;
  /** Id of the trusted key that signed the archive, or null when no keys are configured. */
  signedBy: string | null;
}

/** Expected values of the archive, from the signed manifest and the feed's checksums. */
interface Expectations {
  keys: MinisignPublicKey[];
  signed: SignedRelease | null;
  feed: ExpectedSha256 | null;
  sha256: string | null;
  size: number | null;
}

/** Folder of one version's download; the cache key is the version plus the expected hash. */
function cacheFolder(downloadsDir: string, version: string, sha256: string | null): string {
  return path.join(downloadsDir, `${version}-${sha256 ? sha256.slice(0, 16) : 'unverified'}`);
}

async function resolveExpectations(context: FetchContext, found: FoundUpdate): Promise<Expectations> {
  const { config, logger } = context;
  const { archive, sidecar, sums } = found.choice;
  const keys = await loadTrustedKeys(config.publicKeys, config.home);
  const signed =
    keys.length === 0
      ? null
      : (found.signed ??
        (await verifyReleaseManifest(context, {
          release: found.release,
          archive,
          keys,
          expected: { product: config.product, version: found.info.version, assetName: archive.name, platform: config.platform, arch: config.arch, size: archive.size },
        })));
  const trust = trustStoreOf(context);
  if (signed && trust) assertNotBelowVerified(await trust.read(), signed.manifest.version, config.allowDowngrade);

  const feed = await resolveExpectedSha256({
    archive,
    sidecar,
    sums,
    fetchText: async (asset) => (await fetchAssetBytes(asset, context, MAX_CHECKSUM_FILE_BYTES)).toString('utf8'),
  });
  if (!feed && !signed && config.checksumPolicy === 'required') {
    throw new UpdateError('CHECKSUM_MISSING', `Release ${found.info.version} publishes no SHA-256 for ${archive.name} (no digest, no ${archive.name}.sha256, no SHA256SUMS). Publish one, or accept releases without one: drop --require-checksum, or set "checksumPolicy": "if-present" in the configuration.`);
  }
  if (!feed && !signed) logger.warn(`release ${found.info.version} publishes no SHA-256 for ${archive.name}; only its size is checked`);
  return { keys, signed, feed, sha256: signed?.entry.sha256 ?? feed?.sha256 ?? null, size: signed?.entry.size ?? archive.size };
}

/**
 * Checks a downloaded or cached archive: its signature and signed manifest
 * entry when keys are configured, then the feed's checksums. Deletes the file
 * and rethrows when a check fails.
 */
async function verifyArchive(context: FetchContext, expectations: Expectations, file: string, actual: { size: number; sha256: string }, name: string): Promise<string | null> {
  try {
    let signedBy: string | null = null;
    if (expectations.signed) {
      const verified = await verifyDownloadedArchive(context, { signed: expectations.signed, keys: expectations.keys, file, ...actual });
      signedBy = verified.keyId;
    }
    if (expectations.feed) verifySha256(actual.sha256, expectations.feed.sha256, name);
    return signedBy;
  } catch (error) {
    await fs.rm(file, { force: true });
    throw error;
  }
}

/**
 * Downloads the update's archive into the downloads folder and verifies it.
 * With trusted keys, the archive's own signature and the signed release
 * manifest decide (SIGNATURE_MISSING, SIGNATURE_INVALID, MANIFEST_MISMATCH,
 * DOWNGRADE_REJECTED), and the verified version is stored in the trust record.
 * Every checksum the release publishes is checked too. A cached file from an
 * earlier attempt is reused only after all of these checks pass again.
 */
export async function fetchUpdate(context: FetchContext, found: FoundUpdate): Promise<FetchedUpdate> {
  const { archive } = found.choice;
  const expectations = await resolveExpectations(context, found);

  const folder = context.outputDir ?? cacheFolder(context.downloadsDir, found.info.version, expectations.sha256);
  const destination = path.join(folder, path.basename(archive.name));
  await fs.mkdir(folder, { recursive: true });

  try {
    return await downloadAndVerify(context, found, expectations, destination);
  } catch (error) {
    // An empty cache folder is removed; one that keeps a partial file for resume stays, so rmdir fails on purpose.
    if (!context.outputDir) await fs.rmdir(folder).catch(() => undefined);
    throw error;
  }
}

async function downloadAndVerify(
  context: FetchContext,
  found: FoundUpdate,
  expectations: Awaited<ReturnType<typeof resolveExpectations>>,
  destination: string,
): Promise<FetchedUpdate> {
  const { config, logger } = context;
  const { archive } = found.choice;
  const checksumSource = expectations.signed ? 'manifest' : (expectations.feed?.source ?? null);
  let result: { path: string; size: number; sha256: string };
  let fromCache = false;
  if (expectations.sha256 && (await verifyCachedFile(destination, { size: expectations.size, sha256: expectations.sha256 }))) {
    const stat = await fs.stat(destination);
    logger.info(`reusing download ${destination} (${stat.size} bytes) after it verified again`);
    // verifyCachedFile returned true, so the file's SHA-256 equals the expected one.
    result = { path: destination, size: stat.size, sha256: expectations.sha256 };
    fromCache = true;
    context.onProgress?.({ transferred: stat.size, total: stat.size, bytesPerSecond: 0 });
  } else {
    await fs.rm(destination, { force: true });
    result = await downloadFile({
      url: archive.url,
      destination,
      expectedSize: expectations.size,
      ...credentials(config),
      signal: context.signal,
      idleTimeoutMs: config.idleTimeoutMs,
      onProgress: context.onProgress,
      logger,
    });
  }

  const signedBy = await verifyArchive(context, expectations, result.path, result, archive.name);
  if (expectations.signed) await trustStoreOf(context)?.recordVerified(expectations.signed.manifest.version);
  logger.info(`verified ${archive.name}: ${result.size} bytes, sha256 ${result.sha256} (${checksumSource ?? 'no checksum published'}${signedBy ? `, signed by key ${signedBy}` : ', not signature-checked'})`);
  return { file: result.path, sha256: result.sha256, size: result.size, checksumSource, fromCache, signedBy };
}
