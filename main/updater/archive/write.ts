import { constants, createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, open, realpath, stat, symlink, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { throwIfCancelled, UpdateError } from '../errors';
import type { ExtractionBudget } from './budget';
import { isInside } from './paths';
import type { ExtractionPlan, PlannedEntry } from './plan';

/**
 * Modes written to disk. Only the executable bit survives from the archive:
 * setuid, setgid, sticky and group or world write bits are never restored.
 */
export const FILE_MODE = 0o644;
export const EXECUTABLE_MODE = 0o755;
export const DIRECTORY_MODE = 0o755;

/** Creates every planned folder with mode 0o755, parents first. */
export async function createDirectories(plan: ExtractionPlan): Promise<void> {
  for (const directory of plan.directories) {
    await mkdir(directory, { recursive: true, mode: DIRECTORY_MODE });
    // mkdir applies the umask, so chmod sets the mode exactly.
    await chmod(directory, DIRECTORY_MODE);
  }
}

/**
 * Writes one file from `source`, counting every byte against the budget as it
 * arrives. The file is opened with `wx`, so an existing file or link at that
 * path (for example a name that differs only in case on macOS) is an error,
 * never overwritten or followed.
 */
export async function writeFileEntry(
  entry: PlannedEntry,
  source: AsyncIterable<Buffer>,
  budget: ExtractionBudget,
  signal: AbortSignal | undefined,
): Promise<void> {
  const mode = entry.executable ? EXECUTABLE_MODE : FILE_MODE;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      throwIfCancelled(signal);
      budget.addBytes(chunk.length);
      yield chunk;
    }
  }

  try {
    await pipeline(counted, createWriteStream(entry.path, { flags: 'wx', mode }));
  } catch (error) {
    throw withEntryContext(error, entry);
  }
  await chmod(entry.path, mode);
}

/**
 * Writes a whole file from memory with one open, write, chmod and close. The
 * file is opened with `wx`, as in `writeFileEntry`. The caller counts the
 * bytes against the budget.
 */
export async function writeWholeFile(entry: PlannedEntry, content: Buffer): Promise<void> {
  const mode = entry.executable ? EXECUTABLE_MODE : FILE_MODE;
  let handle: FileHandle;
  try {
    handle = await open(entry.path, 'wx', mode);
  } catch (error) {
    throw withEntryContext(error, entry);
  }
  try {
    await handle.writeFile(content);
    // open() applies the umask, so chmod sets the mode exactly.
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/** Writes a hard link entry as a copy of the file it names, which was extracted earlier. */
export async function copyHardlinkEntry(entry: PlannedEntry, budget: ExtractionBudget): Promise<void> {
  if (entry.linkTarget === undefined) throw new Error(`hard link ${entry.name} has no planned source`);
  const { size } = await stat(entry.linkTarget);
  budget.addBytes(size);
  try {
    await copyFile(entry.linkTarget, entry.path, constants.COPYFILE_EXCL);
  } catch (error) {
    throw withEntryContext(error, entry);
  }
  await chmod(entry.path, entry.executable ? EXECUTABLE_MODE : FILE_MODE);
}

/**
 * Creates the symbolic links after every file and folder is written, so no
 * entry is ever written through a link. Each target was checked by name when
 * planning. A chain of links can still lead outside, so each link is then
 * resolved on disk and must end inside `root`, at something that exists.
 */
export async function createSymlinks(root: string, links: PlannedEntry[]): Promise<void> {
  for (const link of links) {
    if (link.linkTarget === undefined) throw new Error(`symbolic link ${link.name} has no planned target`);
    try {
      // NOTE: on Windows a symbolic link needs Developer Mode or admin rights, and without them this throws EPERM.
      await symlink(link.linkTarget, link.path);
    } catch (error) {
      throw withEntryContext(error, link);
    }
  }

  const realRoot = await realpath(root);
  for (const link of links) {
    let resolved: string;
    try {
      resolved = await realpath(link.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw unsafeResolvedLink(link, `does not resolve to anything inside the archive (${code})`);
    }
    if (!isInside(realRoot, resolved)) throw unsafeResolvedLink(link, 'resolves outside the extraction folder through other links');
  }
}

function unsafeResolvedLink(link: PlannedEntry, reason: string): UpdateError {
  return new UpdateError(
    'UNSAFE_ARCHIVE_ENTRY',
    `Archive entry "${link.name}" is a link to "${link.linkTarget}", which ${reason}, so the archive was rejected and nothing was installed. Do not install this release, and report it to its publisher.`,
    { details: { entry: link.name, target: link.linkTarget ?? null } },
  );
}

/** Names the entry in a write error that is about the entry itself, and passes other errors through. */
export function withEntryContext(error: unknown, entry: PlannedEntry): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'EEXIST' && code !== 'ENOTDIR' && code !== 'EISDIR') return error;
  return new UpdateError(
    'ARCHIVE_INVALID',
    `Archive entry "${entry.name}" clashes with another entry at ${entry.path} (${code}). Names that differ only in case clash on macOS and Windows. Report the archive to its publisher.`,
    { details: { entry: entry.name, path: entry.path }, cause: error },
  );
}
