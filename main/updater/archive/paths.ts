import path from 'node:path';
import { UpdateError } from '../errors';

const DRIVE_LETTER = /^[A-Za-z]:/;

/**
 * Resolves an archive entry name to an absolute path inside `root`, or throws
 * UpdateError('UNSAFE_ARCHIVE_ENTRY') naming the entry.
 *
 * `\` becomes `/` first, so Windows-made archives get folders on every OS and
 * `..\` is caught like `../`. Names are never rewritten beyond that. The check is
 * `path.relative`, not a string prefix, so `..././escape.txt` stays a legal name
 * inside the root while `../root2/x` (which shares the root's prefix) is rejected.
 * Drive letters and UNC names are rejected on every OS, because POSIX `path`
 * treats `C:/x` as a relative name.
 */
export function resolveEntryPath(root: string, entryName: string): string {
  const name = normalizeEntryName(entryName);
  const absoluteRoot = path.resolve(root);
  const resolved = path.resolve(absoluteRoot, name);
  assertInsideRoot(absoluteRoot, resolved, entryName);
  return resolved;
}

/**
 * Resolves a symbolic link target, relative to the folder of the link at
 * `linkPath`, and throws UNSAFE_ARCHIVE_ENTRY naming `entryName` when the
 * target is absolute or leaves `root`.
 */
export function resolveLinkTarget(root: string, linkPath: string, target: string, entryName: string): string {
  let normalized: string;
  try {
    normalized = normalizeEntryName(target);
  } catch (error) {
    throw unsafeLink(entryName, target, error instanceof UpdateError ? String(error.details?.reason) : 'is invalid');
  }

  const absoluteRoot = path.resolve(root);
  const resolved = path.resolve(path.dirname(linkPath), normalized);
  if (!isInside(absoluteRoot, resolved)) throw unsafeLink(entryName, target, 'leaves the extraction folder');
  return resolved;
}

/** Returns true when `candidate` is `root` or lies below it. Both paths must be absolute. */
export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  if (relative === '') return true;
  if (path.isAbsolute(relative)) return false;
  return relative !== '..' && !relative.startsWith(`..${path.sep}`);
}

/** Turns `\` into `/` and rejects NUL, absolute, drive-letter and UNC names. */
function normalizeEntryName(entryName: string): string {
  if (entryName.includes('\0')) throw unsafeEntry(entryName, 'contains a NUL character');
  const name = entryName.replaceAll('\\', '/');
  if (name.length === 0) throw unsafeEntry(entryName, 'is empty');
  if (name.startsWith('//')) throw unsafeEntry(entryName, 'is a UNC path');
  if (DRIVE_LETTER.test(name)) throw unsafeEntry(entryName, 'starts with a drive letter');
  if (path.posix.isAbsolute(name) || path.win32.isAbsolute(name)) throw unsafeEntry(entryName, 'is an absolute path');
  // NTFS reads `name:stream` as an alternate data stream of `name`.
  if (process.platform === 'win32' && name.includes(':')) throw unsafeEntry(entryName, 'contains ":"');
  return name;
}

function assertInsideRoot(root: string, resolved: string, entryName: string): void {
  if (!isInside(root, resolved)) throw unsafeEntry(entryName, 'leaves the extraction folder');
}

function unsafeEntry(entryName: string, reason: string): UpdateError {
  return new UpdateError(
    'UNSAFE_ARCHIVE_ENTRY',
    `Archive entry "${entryName}" ${reason}, so the archive was rejected and nothing was installed. Do not install this release, and report it to its publisher.`,
    { details: { entry: entryName, reason } },
  );
}

/** Returns UNSAFE_ARCHIVE_ENTRY for a link entry whose target is rejected for `reason`. */
export function unsafeLink(entryName: string, target: string, reason: string): UpdateError {
  return new UpdateError(
    'UNSAFE_ARCHIVE_ENTRY',
    `Archive entry "${entryName}" is a link to "${target}", which ${reason}, so the archive was rejected and nothing was installed. Do not install this release, and report it to its publisher.`,
    { details: { entry: entryName, target, reason } },
  );
}
