import { UpdateError } from './errors';
import type { Release, ReleaseAsset } from './feeds/types';

export type ArchiveFormat = 'zip' | 'tar.gz';

/** The archive to install for one platform and arch, with the checksum files published beside it. */
export interface AssetChoice {
  archive: ReleaseAsset;
  format: ArchiveFormat;
  /** `<archive name>.sha256` asset, or null. */
  sidecar: ReleaseAsset | null;
  /** `SHA256SUMS`-style asset listing several files, or null. */
  sums: ReleaseAsset | null;
}

export interface AssetTarget {
  platform: NodeJS.Platform;
  arch: string;
}

/** Text that an asset name must contain (compared without case) to be a backend archive. */
export const BACKEND_ASSET_MARKER = 'python-backend';

/** Names of checksum-list assets, lowercase, in order of preference. */
const SUMS_FILE_NAMES = ['sha256sums', 'sha256sums.txt', 'checksums.txt'];

/** Name tokens for each Node platform. */
const PLATFORM_TOKENS: Record<string, readonly string[]> = {
  win32: ['win', 'windows', 'win32', 'win64'],
  darwin: ['mac', 'macos', 'darwin', 'osx'],
  linux: ['linux'],
};

/** Name tokens for each Node arch. `universal` is handled apart because it fits every darwin arch. */
const ARCH_TOKENS: Record<string, readonly string[]> = {
  x64: ['x64', 'x86_64', 'amd64'],
  arm64: ['arm64', 'aarch64'],
  ia32: ['ia32', 'x86', 'i386', 'i686'],
};

const UNIVERSAL_TOKEN = 'universal';

/** Returns the archive format from a file name (`.zip`, `.tar.gz`, `.tgz`, any case), or null. */
export function archiveFormat(name: string): ArchiveFormat | null {
  const lower = name.toLowerCase();
  if (lower.endsWith('.zip')) return 'zip';
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  return null;
}

/**
 * Splits an asset name into lowercase tokens on `-`, `_`, `.` and spaces.
 * `x86_64` and `x86-64` stay one token so that they never read as `x86`.
 */
export function nameTokens(name: string): string[] {
  const lower = name.toLowerCase().replace(/x86[-_]64/g, 'x86~64');
  return lower
    .split(/[-_.\s]+/)
    .filter((token) => token.length > 0)
    .map((token) => token.replace('x86~64', 'x86_64'));
}

function platformsNamed(tokens: Set<string>): Set<string> {
  const named = new Set<string>();
  for (const [platform, aliases] of Object.entries(PLATFORM_TOKENS)) {
    if (aliases.some((alias) => tokens.has(alias))) named.add(platform);
  }
  return named;
}

function archesNamed(tokens: Set<string>): Set<string> {
  const named = new Set<string>();
  for (const [arch, aliases] of Object.entries(ARCH_TOKENS)) {
    if (aliases.some((alias) => tokens.has(alias))) named.add(arch);
  }
  return named;
}

interface NameFit {
  asset: ReleaseAsset;
  platforms: Set<string>;
  arches: Set<string>;
  universal: boolean;
}

function describeName(asset: ReleaseAsset): NameFit {
  const tokens = new Set(nameTokens(asset.name));
  return {
    asset,
    platforms: platformsNamed(tokens),
    arches: archesNamed(tokens),
    universal: tokens.has(UNIVERSAL_TOKEN),
  };
}

function namesOnly(named: Set<string>, expected: string): boolean {
  return [...named].every((value) => value === expected);
}

/** Ranks the arch fit: 2 names the target arch, 1 `universal`, 0 no arch token. */
function archRank(fit: NameFit): number {
  if (fit.arches.size > 0) return 2;
  return fit.universal ? 1 : 0;
}

/**
 * Returns the archives that fit the target best. Names with another platform
 * or arch are dropped. A platform-neutral name counts only when no archive
 * names the target platform. Of the rest, only those with the best arch rank stay.
 */
function fittingArchives(archives: ReleaseAsset[], target: AssetTarget): ReleaseAsset[] {
  const fits = archives.map(describeName).filter((fit) => namesOnly(fit.platforms, target.platform));

  const platformNamed = fits.filter((fit) => fit.platforms.size > 0);
  const platformFits = platformNamed.length > 0 ? platformNamed : fits;

  const archFits = platformFits.filter(
    (fit) => namesOnly(fit.arches, target.arch) && (!fit.universal || target.platform === 'darwin'),
  );
  if (archFits.length === 0) return [];

  const top = Math.max(...archFits.map(archRank));
  return archFits.filter((fit) => archRank(fit) === top).map((fit) => fit.asset);
}

function isBackendArchive(asset: ReleaseAsset): boolean {
  return asset.name.toLowerCase().includes(BACKEND_ASSET_MARKER) && archiveFormat(asset.name) !== null;
}

function findChecksumAssets(release: Release, archive: ReleaseAsset): Pick<AssetChoice, 'sidecar' | 'sums'> {
  const sidecarName = `${archive.name}.sha256`.toLowerCase();
  const sidecar = release.assets.find((asset) => asset.name.toLowerCase() === sidecarName) ?? null;

  let sums: ReleaseAsset | null = null;
  for (const fileName of SUMS_FILE_NAMES) {
    sums = release.assets.find((asset) => asset.name.toLowerCase() === fileName) ?? null;
    if (sums !== null) break;
  }
  return { sidecar, sums };
}

function noMatchingAsset(release: Release, target: AssetTarget): UpdateError {
  const names = release.assets.map((asset) => asset.name);
  const listed = names.length > 0 ? names.join(', ') : 'none';
  return new UpdateError(
    'NO_MATCHING_ASSET',
    `Release ${release.tag} has no ${BACKEND_ASSET_MARKER} archive (.zip, .tar.gz or .tgz) ` +
      `for ${target.platform}-${target.arch}. ` +
      `Assets: ${listed}. Publish an archive whose name contains "${BACKEND_ASSET_MARKER}" and this platform and arch.`,
    { details: { release: release.tag, platform: target.platform, arch: target.arch, assets: names.join(', ') } },
  );
}

function ambiguousAsset(release: Release, target: AssetTarget, matches: ReleaseAsset[]): UpdateError {
  const names = matches.map((asset) => asset.name);
  return new UpdateError(
    'AMBIGUOUS_ASSET',
    `Release ${release.tag} has ${names.length} archives that fit ${target.platform}-${target.arch}: ` +
      `${names.join(', ')}. ` +
      'Name each archive with one platform and arch, or remove the extra archives.',
    { details: { release: release.tag, platform: target.platform, arch: target.arch, assets: names.join(', ') } },
  );
}

/** Returns the asset name without its archive extension, lowercased. */
function buildName(name: string): string {
  return name.toLowerCase().replace(/\.(zip|tar\.gz|tgz)$/, '');
}

/**
 * Picks one of several archives that hold the same build in different formats
 * (`x.zip` and `x.tar.gz`): zip on Windows, tar.gz elsewhere. Returns null
 * when the archives are different builds.
 */
function preferFormat(matches: ReleaseAsset[], target: AssetTarget): ReleaseAsset | null {
  const names = new Set(matches.map((asset) => buildName(asset.name)));
  if (names.size !== 1) return null;
  const preferred: ArchiveFormat = target.platform === 'win32' ? 'zip' : 'tar.gz';
  return matches.find((asset) => archiveFormat(asset.name) === preferred) ?? matches[0] ?? null;
}

/**
 * Selects the one archive of `release` to install on `target`.
 *
 * Candidates are `.zip`, `.tar.gz` and `.tgz` assets whose name contains
 * `python-backend`, compared without case. Checksum files are never
 * candidates. Name tokens split on `-`, `_`, `.` and spaces narrow the choice.
 * A name with another platform or arch token is never chosen. A name with no
 * platform token is used only when no archive names the target platform. A
 * name with the target arch beats `universal` (darwin only), which beats a
 * name with no arch token.
 * The same build published as both zip and tar.gz counts as one archive.
 * Throws NO_MATCHING_ASSET when nothing fits and AMBIGUOUS_ASSET when two or
 * more different builds fit equally well.
 */
export function selectAsset(release: Release, target: AssetTarget): AssetChoice {
  const matches = fittingArchives(release.assets.filter(isBackendArchive), target);
  if (matches.length === 0) throw noMatchingAsset(release, target);
  const chosen = matches.length === 1 ? matches[0] : preferFormat(matches, target);
  if (!chosen) throw ambiguousAsset(release, target, matches);

  const format = archiveFormat(chosen.name) as ArchiveFormat;
  return { archive: chosen, format, ...findChecksumAssets(release, chosen) };
}
