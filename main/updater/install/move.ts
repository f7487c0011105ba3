import { randomBytes } from 'node:crypto';
import { cp, lstat, readdir, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../logger';
import { UpdateError } from '../errors';

/** Function that renames a folder: `fs.promises.rename` unless a test replaces it. */
export type RenameFolder = (from: string, to: string) => Promise<void>;

/**
 * Moves the folder `source` to `target`, which must not exist. A rename is
 * tried first. When it fails with EXDEV (the two are on different file
 * systems), the folder is copied next to `target` and compared with the
 * source: same paths, kinds, sizes, executable bits and link targets. The copy
 * is then renamed into place, and only after that is the source removed. A
 * failed copy is deleted and leaves the source as it was.
 */
export async function moveFolder(source: string, target: string, renameFolder: RenameFolder, logger: Logger): Promise<void> {
  try {
    await renameFolder(source, target);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
  }

  logger.warn(`move ${source} -> ${target} crosses file systems (EXDEV); copying instead`);
  const partial = path.join(path.dirname(target), `.partial-${path.basename(target)}-${randomBytes(4).toString('hex')}`);
  try {
    await cp(source, partial, { recursive: true, errorOnExist: true, force: false, verbatimSymlinks: true, preserveTimestamps: true });
    await verifyCopy(source, partial);
    // The copy sits next to the target, so this rename stays on one file system.
    await renameFolder(partial, target);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }

  try {
    await rm(source, { recursive: true, force: true, maxRetries: 3 });
  } catch (error) {
    logger.warn(`move could not remove ${source} after copying it: ${(error as Error).message}`);
  }
}

interface TreeItem {
  kind: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  executable: boolean;
  linkTarget: string | null;
}

/** Throws INSTALL_FAILED unless `copy` has the same tree as `source`. */
async function verifyCopy(source: string, copy: string): Promise<void> {
  const expected = await describeTree(source);
  const actual = await describeTree(copy);
  const mismatch = firstMismatch(expected, actual);
  if (mismatch === null) return;
  throw new UpdateError(
    'INSTALL_FAILED',
    `Copy of ${source} to ${copy} does not match the source at "${mismatch}". The install was stopped, and the previous version is untouched. Check free space and try again.`,
    { details: { source, copy, path: mismatch } },
  );
}

function firstMismatch(expected: Map<string, TreeItem>, actual: Map<string, TreeItem>): string | null {
  if (expected.size !== actual.size) {
    const missing = [...expected.keys()].find((key) => !actual.has(key));
    return missing ?? [...actual.keys()].find((key) => !expected.has(key)) ?? '(file count)';
  }
  for (const [key, item] of expected) {
    const other = actual.get(key);
    if (other === undefined) return key;
    const same = other.kind === item.kind && other.size === item.size && other.executable === item.executable && other.linkTarget === item.linkTarget;
    if (!same) return key;
  }
  return null;
}

/** Lists every path below `root` without following links. */
async function describeTree(root: string): Promise<Map<string, TreeItem>> {
  const items = new Map<string, TreeItem>();
  const folders = [''];
  for (let relative = folders.pop(); relative !== undefined; relative = folders.pop()) {
    for (const name of await readdir(path.join(root, relative))) {
      const child = relative === '' ? name : `${relative}/${name}`;
      const absolute = path.join(root, child);
      const info = await lstat(absolute);
      const kind = info.isFile() ? 'file' : info.isDirectory() ? 'directory' : info.isSymbolicLink() ? 'symlink' : 'other';
      const linkTarget = kind === 'symlink' ? await readlink(absolute) : null;
      items.set(child, { kind, size: kind === 'file' ? info.size : 0, executable: kind === 'file' && (info.mode & 0o111) !== 0, linkTarget });
      if (kind === 'directory') folders.push(child);
    }
  }
  return items;
}
