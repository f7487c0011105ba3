/**
 * The release manifest: one small JSON file, published as the release asset
 * `python-backend-release.json` with its minisign signature
 * `python-backend-release.json.minisig`, that binds the release's fields into
 * one signed object:
 *
 * ```json
 * {
 *   "schema": 1,
 *   "product": "python-backend",
 *   "version": "2.1.0",
 *   "assets": [
 *     { "name": "python-backend-2.1.0-linux-x64.tar.gz", "platform": "linux", "arch": "x64",
 *       "size": 123456, "sha256": "<64 hex digits>" }
 *   ]
 * }
 * ```
 *
 * `version` is strict semver without a leading `v`. `platform` and `arch`
 * use Node's names (`linux`, `win32`, `darwin`; `x64`, `arm64`, `ia32`), or
 * `any` for an archive that runs everywhere. The updater installs an archive
 * only when the manifest's product, version, platform and arch match the
 * release it selected, and the archive's size and SHA-256 equal the
 * manifest's entry. So a signed build of another platform, another release or
 * an older version is rejected even though its own signature is valid.
 */
import { z } from 'zod';
import { UpdateError } from '../errors';
import { parseTag } from '../versions';

/** Asset name of the release manifest. Its signature is this name plus `.minisig`. */
export const RELEASE_MANIFEST_NAME = 'python-backend-release.json';

/** Value of `platform` or `arch` for an archive that fits every platform or arch. */
export const ANY_TARGET = 'any';

const nameSchema = z.string().min(1).max(255).refine((name) => !/[/\\]/.test(name) && name !== '.' && name !== '..', 'must be a file name');
const targetSchema = z.string().regex(/^[a-z0-9_]+$/, 'must be lowercase letters, digits or _');

const manifestAssetSchema = z.object({
  name: nameSchema,
  platform: targetSchema,
  arch: targetSchema,
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
});

const manifestSchema = z.object({
  schema: z.literal(1),
  product: z.string().min(1),
  version: z.string().refine((version) => parseTag(version) === version, 'must be a semantic version without a leading v'),
  assets: z.array(manifestAssetSchema).min(1),
});

export type ReleaseManifestAsset = z.infer<typeof manifestAssetSchema>;
export type ReleaseManifest = z.infer<typeof manifestSchema>;

function manifestError(label: string, message: string, details: Record<string, string | number | null> = {}): UpdateError {
  return new UpdateError('MANIFEST_MISMATCH', message, { retryable: false, details: { manifest: label, ...details } });
}

/** Parses and validates a manifest; throws MANIFEST_MISMATCH naming the first problem. */
export function parseReleaseManifest(text: string, label = RELEASE_MANIFEST_NAME): ReleaseManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw manifestError(label, `Release manifest ${label} is not valid JSON: ${(error as Error).message}. Ask the publisher to rebuild it with "backend-updater release sign".`);
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw manifestError(label, `Release manifest ${label} is invalid: ${problems}.`);
  }
  const names = new Set<string>();
  for (const asset of result.data.assets) {
    if (names.has(asset.name)) throw manifestError(label, `Release manifest ${label} lists ${asset.name} twice.`, { asset: asset.name });
    names.add(asset.name);
  }
  return result.data;
}

/** Formats a manifest as the bytes to sign and publish: assets sorted by name, two-space indent, final newline. */
export function formatReleaseManifest(manifest: ReleaseManifest): string {
  // Compared by code unit rather than localeCompare, so the order is the same in every locale.
  const byName = (a: ReleaseManifestAsset, b: ReleaseManifestAsset): number => {
    if (a.name === b.name) return 0;
    return a.name < b.name ? -1 : 1;
  };
  const assets = [...manifest.assets].sort(byName).map(({ name, platform, arch, size, sha256 }) => ({ name, platform, arch, size, sha256 }));
  return `${JSON.stringify({ schema: 1, product: manifest.product, version: manifest.version, assets }, null, 2)}\n`;
}

/** Expected fields of the release the updater is about to install. */
export interface ManifestExpectation {
  product: string;
  /** Version parsed from the release's tag. */
  version: string;
  assetName: string;
  platform: string;
  arch: string;
  /** Archive size that the feed reports, or null when it reports none. */
  size: number | null;
}

/**
 * Returns the manifest entry for the archive the updater chose. Throws
 * MANIFEST_MISMATCH when the product or version differ, when the archive is
 * not listed, or when its entry is for another platform or arch or another size.
 */
export function matchManifestAsset(manifest: ReleaseManifest, expected: ManifestExpectation, label = RELEASE_MANIFEST_NAME): ReleaseManifestAsset {
  if (manifest.product !== expected.product) {
    throw manifestError(label, `Release manifest ${label} is for product "${manifest.product}", not "${expected.product}". The release belongs to another product; do not install it.`, {
      product: manifest.product,
    });
  }
  if (manifest.version !== expected.version) {
    throw manifestError(label, `Release manifest ${label} is signed for version ${manifest.version}, but the release is tagged ${expected.version}. An older or different signed release is being served as this one; do not install it.`, {
      signedVersion: manifest.version,
      taggedVersion: expected.version,
    });
  }
  const entry = manifest.assets.find((asset) => asset.name === expected.assetName);
  if (!entry) {
    const listed = manifest.assets.map((asset) => asset.name).join(', ');
    throw manifestError(label, `Release manifest ${label} (version ${manifest.version}) does not list ${expected.assetName} (it lists ${listed}). The archive was not signed as part of this release.`, {
      asset: expected.assetName,
    });
  }
  const fits = (value: string, target: string): boolean => value === ANY_TARGET || value === target;
  if (!fits(entry.platform, expected.platform) || !fits(entry.arch, expected.arch)) {
    throw manifestError(label, `Release manifest ${label} signs ${entry.name} for ${entry.platform}-${entry.arch}, not for ${expected.platform}-${expected.arch}. Another platform's build is being served; do not install it.`, {
      asset: entry.name,
      platform: entry.platform,
      arch: entry.arch,
    });
  }
  if (expected.size !== null && expected.size !== entry.size) {
    throw manifestError(label, `The feed lists ${entry.name} with ${expected.size} bytes, but its signed manifest gives ${entry.size}. The archive is not the signed one.`, {
      asset: entry.name,
      feedSize: expected.size,
      signedSize: entry.size,
    });
  }
  return entry;
}

/** Throws MANIFEST_MISMATCH unless a downloaded archive has the size and SHA-256 of its signed entry. */
export function assertArchiveMatches(entry: ReleaseManifestAsset, actual: { size: number; sha256: string }, label = RELEASE_MANIFEST_NAME): void {
  if (actual.size !== entry.size) {
    throw manifestError(label, `${entry.name} has ${actual.size} bytes, but its signed manifest gives ${entry.size}. The archive is not the signed one, so it was deleted.`, {
      asset: entry.name,
      size: actual.size,
      signedSize: entry.size,
    });
  }
  if (actual.sha256.toLowerCase() !== entry.sha256) {
    throw manifestError(label, `SHA-256 of ${entry.name} is ${actual.sha256}, but its signed manifest gives ${entry.sha256}. The archive is not the signed one, so it was deleted.`, {
      asset: entry.name,
      sha256: actual.sha256,
      signedSha256: entry.sha256,
    });
  }
}
