import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UpdateError } from '../errors';
import type { Release, ReleaseAsset } from '../feeds/types';
import { sha256File } from '../verify';
import { fetchAssetBytes, type AssetFetchContext } from './fetch-asset';
import { parseSignature, SIGNATURE_SUFFIX, type MinisignPublicKey } from './minisign';
import {
  assertArchiveMatches,
  matchManifestAsset,
  parseReleaseManifest,
  RELEASE_MANIFEST_NAME,
  type ManifestExpectation,
  type ReleaseManifest,
  type ReleaseManifestAsset,
} from './release-manifest';
import { verifySignedBuffer, verifySignedFile, type VerifiedSignature } from './verify-signature';

/** Largest release manifest read into memory. */
const MAX_MANIFEST_BYTES = 1024 * 1024;
/** Largest `.minisig` file read into memory; minisign's own lines stay under 9 KiB. */
const MAX_SIGNATURE_BYTES = 64 * 1024;

/** A release whose manifest carries a valid signature from a trusted key and lists the chosen archive. */
export interface SignedRelease {
  manifest: ReleaseManifest;
  /** The manifest's entry for the archive to install. */
  entry: ReleaseManifestAsset;
  /** Id of the trusted key that signed the manifest. */
  keyId: string;
  /** The `<archive>.minisig` asset, checked once the archive is downloaded. */
  archiveSignature: ReleaseAsset;
}

function missing(release: Release, name: string): UpdateError {
  return new UpdateError(
    'SIGNATURE_MISSING',
    `Release ${release.tag} publishes no ${name}, and trusted public keys are configured, so only signed releases are installed. Ask the publisher to sign it ("backend-updater release sign"), or remove publicKeys to accept unsigned releases.`,
    { retryable: false, details: { release: release.tag, asset: name } },
  );
}

function findAsset(release: Release, name: string): ReleaseAsset {
  const asset = release.assets.find((candidate) => candidate.name === name);
  if (!asset) throw missing(release, name);
  return asset;
}

/**
 * Finds, downloads and verifies the release manifest and its signature, then
 * matches it against the chosen archive. Throws SIGNATURE_MISSING when the
 * manifest, its signature or the archive's signature is not published,
 * SIGNATURE_INVALID when the manifest's signature fails, and MANIFEST_MISMATCH
 * when the signed fields do not fit this release, platform and archive.
 */
export async function verifyReleaseManifest(
  context: AssetFetchContext,
  input: { release: Release; archive: ReleaseAsset; keys: readonly MinisignPublicKey[]; expected: ManifestExpectation },
): Promise<SignedRelease> {
  const { release, archive, keys } = input;
  const manifestAsset = findAsset(release, RELEASE_MANIFEST_NAME);
  const manifestSignature = findAsset(release, `${RELEASE_MANIFEST_NAME}${SIGNATURE_SUFFIX}`);
  const archiveSignature = findAsset(release, `${archive.name}${SIGNATURE_SUFFIX}`);

  const manifestBytes = await fetchAssetBytes(manifestAsset, context, MAX_MANIFEST_BYTES);
  const signatureText = (await fetchAssetBytes(manifestSignature, context, MAX_SIGNATURE_BYTES)).toString('utf8');
  const label = `${RELEASE_MANIFEST_NAME} of ${release.tag}`;
  const verified = verifySignedBuffer(manifestBytes, parseSignature(signatureText, manifestSignature.name), keys, label);

  const manifest = parseReleaseManifest(manifestBytes.toString('utf8'), label);
  const entry = matchManifestAsset(manifest, input.expected, label);
  context.logger.info(`release manifest of ${release.tag} verified: signed by key ${verified.keyId}, ${entry.name} ${entry.size} bytes sha256 ${entry.sha256}`);
  return { manifest, entry, keyId: verified.keyId, archiveSignature };
}

/**
 * Verifies a downloaded archive: its own signature against the trusted keys
 * (SIGNATURE_INVALID), then its size and SHA-256 against the signed manifest
 * entry (MANIFEST_MISMATCH). The caller deletes the file when this throws.
 */
export async function verifyDownloadedArchive(
  context: AssetFetchContext,
  input: { signed: SignedRelease; keys: readonly MinisignPublicKey[]; file: string; size: number; sha256: string },
): Promise<VerifiedSignature> {
  const { signed } = input;
  const text = (await fetchAssetBytes(signed.archiveSignature, context, MAX_SIGNATURE_BYTES)).toString('utf8');
  const signature = parseSignature(text, signed.archiveSignature.name);
  const verified = await verifySignedFile(input.file, signature, input.keys, signed.entry.name, context.signal);
  assertArchiveMatches(signed.entry, { size: input.size, sha256: input.sha256 }, RELEASE_MANIFEST_NAME);
  context.logger.info(`archive ${signed.entry.name} verified: signed by key ${verified.keyId}, matches its signed manifest`);
  return verified;
}

async function readLocal(file: string, description: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new UpdateError('SIGNATURE_MISSING', `${description} ${file} does not exist, and trusted public keys are configured, so only signed releases are installed. Put it next to the archive, or pass --manifest.`, {
      retryable: false,
      details: { file },
    });
  }
}

/** A local archive whose signature and signed manifest verified. */
export interface VerifiedLocalRelease {
  manifest: ReleaseManifest;
  entry: ReleaseManifestAsset;
  keyId: string;
}

/**
 * Verifies an archive on disk for an offline install: `<archive>.minisig`
 * beside it, and the release manifest with its `.minisig`. `expected.version`
 * null takes the version from the signed manifest.
 */
export async function verifyLocalRelease(input: {
  archive: string;
  manifestFile: string;
  keys: readonly MinisignPublicKey[];
  expected: Omit<ManifestExpectation, 'version' | 'size'> & { version: string | null };
}): Promise<VerifiedLocalRelease> {
  const manifestBytes = await readLocal(input.manifestFile, 'Release manifest');
  const manifestSignature = await readLocal(`${input.manifestFile}${SIGNATURE_SUFFIX}`, 'Manifest signature');
  const label = path.basename(input.manifestFile);
  const manifestKey = verifySignedBuffer(manifestBytes, parseSignature(manifestSignature.toString('utf8'), `${label}${SIGNATURE_SUFFIX}`), input.keys, label);
  const manifest = parseReleaseManifest(manifestBytes.toString('utf8'), label);

  const version = input.expected.version ?? manifest.version;
  const entry = matchManifestAsset(manifest, { ...input.expected, version, size: null }, label);
  const archiveSignature = await readLocal(`${input.archive}${SIGNATURE_SUFFIX}`, 'Archive signature');
  await verifySignedFile(input.archive, parseSignature(archiveSignature.toString('utf8'), `${entry.name}${SIGNATURE_SUFFIX}`), input.keys, entry.name);
  const { size } = await stat(input.archive);
  assertArchiveMatches(entry, { size, sha256: await sha256File(input.archive) }, label);
  return { manifest, entry, keyId: manifestKey.keyId };
}
