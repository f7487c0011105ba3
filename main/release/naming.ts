import { archiveFormat, BACKEND_ASSET_MARKER, type ArchiveFormat } from '../updater/assets';
import { UpdateError } from '../updater/errors';
import { ANY_TARGET } from '../updater/signature/release-manifest';
import { parseTag } from '../updater/versions';

/** Platforms a release archive can be built for, in Node's names, which the updater's asset selection recognizes. */
export const RELEASE_PLATFORMS = ['linux', 'win32', 'darwin'] as const;
/** Architectures a release archive can be built for, in Node's names. */
export const RELEASE_ARCHES = ['x64', 'arm64', 'ia32'] as const;

/** Version, platform, arch and format read from an archive name. */
export interface ArchiveName {
  version: string;
  /** Node platform, or `any` for a name without platform and arch. */
  platform: string;
  arch: string;
  format: ArchiveFormat;
}

/** Builds `python-backend-<version>-<platform>-<arch>.<zip|tar.gz>`. */
export function releaseArchiveName(version: string, platform: string, arch: string, format: ArchiveFormat): string {
  return `${BACKEND_ASSET_MARKER}-${version}-${platform}-${arch}.${format}`;
}

/** Raises INVALID_INPUT unless `platform` and `arch` are ones the updater's asset selection recognizes. */
export function assertReleaseTarget(platform: string, arch: string): void {
  if (!(RELEASE_PLATFORMS as readonly string[]).includes(platform)) {
    throw new UpdateError('INVALID_INPUT', `Unsupported platform "${platform}": use one of ${RELEASE_PLATFORMS.join(', ')} (Node's process.platform names).`);
  }
  if (!(RELEASE_ARCHES as readonly string[]).includes(arch)) {
    throw new UpdateError('INVALID_INPUT', `Unsupported arch "${arch}": use one of ${RELEASE_ARCHES.join(', ')} (Node's process.arch names).`);
  }
}

function stripExtension(name: string): string {
  return name.replace(/\.(zip|tar\.gz|tgz)$/i, '');
}

/**
 * Parses `python-backend-<version>-<platform>-<arch>.<ext>`, or
 * `python-backend-<version>.<ext>` for an archive that fits every platform
 * (`any`). Returns null for any other name, a version that is not strict
 * semver included.
 */
export function parseArchiveName(name: string): ArchiveName | null {
  const format = archiveFormat(name);
  const prefix = `${BACKEND_ASSET_MARKER}-`;
  if (format === null || !name.startsWith(prefix)) return null;

  const rest = stripExtension(name.slice(prefix.length));
  const targeted = /^(.+)-([a-z0-9]+)-([a-z0-9_]+)$/.exec(rest);
  if (targeted) {
    const [, version = '', platform = '', arch = ''] = targeted;
    const known = (RELEASE_PLATFORMS as readonly string[]).includes(platform) && (RELEASE_ARCHES as readonly string[]).includes(arch);
    if (known && parseTag(version) === version) return { version, platform, arch, format };
  }
  if (parseTag(rest) === rest) return { version: rest, platform: ANY_TARGET, arch: ANY_TARGET, format };
  return null;
}
