import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import yazl from 'yazl';
import type { ArchiveFormat } from '../updater/assets';
import { UpdateError } from '../updater/errors';
import { sha256File } from '../updater/verify';
import { parseTag } from '../updater/versions';
import { assertReleaseTarget, releaseArchiveName } from './naming';

/** Options of `packRelease`. */
export interface PackOptions {
  /** Folder whose content becomes the archive's root. */
  source: string;
  version: string;
  platform: string;
  arch: string;
  /** @default 'zip' for win32, 'tar.gz' otherwise */
  format?: ArchiveFormat;
  /** Folder that receives the archive; it must not be inside `source`. */
  outDir: string;
  /** File that must exist at the top of `source`. @default 'main.py' */
  entryPoint?: string;
}

/** An archive written by `packRelease`. */
export interface PackedArchive {
  file: string;
  name: string;
  size: number;
  sha256: string;
  /** Number of files packed (folders not counted). */
  files: number;
}

interface SourceEntry {
  /** Path inside the archive with `/` separators. */
  name: string;
  absolute: string;
  directory: boolean;
  mode: number;
  mtime: Date;
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Lists every file and folder under `source`, sorted so that two runs pack
 * the same order. Symbolic links are rejected rather than followed, because a
 * link can point outside the folder; so are sockets, FIFOs and devices.
 */
async function collectSource(source: string): Promise<SourceEntry[]> {
  const entries: SourceEntry[] = [];
  const walk = async (folder: string): Promise<void> => {
    const children = (await fs.readdir(folder)).sort();
    for (const child of children) {
      const absolute = path.join(folder, child);
      const stat = await fs.lstat(absolute);
      const name = path.relative(source, absolute).split(path.sep).join('/');
      if (stat.isSymbolicLink()) {
        throw new UpdateError('UNSAFE_ARCHIVE_ENTRY', `${absolute} is a symbolic link; release archives contain only regular files and folders. Replace the link with the file it points to.`, {
          details: { entry: name },
        });
      }
      if (!stat.isFile() && !stat.isDirectory()) {
        throw new UpdateError('UNSAFE_ARCHIVE_ENTRY', `${absolute} is not a regular file or folder; remove it from the release folder.`, { details: { entry: name } });
      }
      entries.push({ name, absolute, directory: stat.isDirectory(), mode: stat.mode & 0o777, mtime: stat.mtime });
      if (stat.isDirectory()) await walk(absolute);
    }
  };
  await walk(source);
  return entries;
}

async function assertEntryPoint(source: string, entryPoint: string): Promise<void> {
  const file = path.resolve(source, entryPoint);
  if (!isInside(source, file)) throw new UpdateError('INVALID_INPUT', `Entry point ${entryPoint} is outside the release folder ${source}.`);
  const stat = await fs.lstat(file).catch(() => null);
  if (!stat?.isFile()) {
    throw new UpdateError('ENTRY_POINT_MISSING', `Release folder ${source} has no entry point ${entryPoint}; the updater would reject the archive. Add it, or pass --entry-point.`, {
      details: { entryPoint, source },
    });
  }
}

async function writeZip(entries: SourceEntry[], file: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    // yazl writes the Unix mode into the external attributes, so the file type bits go with it.
    if (entry.directory) zip.addEmptyDirectory(entry.name, { mode: 0o040000 | entry.mode, mtime: entry.mtime });
    else zip.addFile(entry.absolute, entry.name, { mode: 0o100000 | entry.mode, mtime: entry.mtime });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
}

async function writeTarGz(source: string, entries: SourceEntry[], file: string): Promise<void> {
  // noDirRecurse packs exactly the checked list; node-tar keeps each file's mode.
  await tar.create({ file, cwd: source, gzip: true, portable: true, noDirRecurse: true }, entries.map((entry) => entry.name));
}

async function validateOptions(options: PackOptions): Promise<{ source: string; outDir: string; format: ArchiveFormat }> {
  if (parseTag(options.version) !== options.version) {
    throw new UpdateError('INVALID_INPUT', `Invalid version "${options.version}": expected a semantic version without a leading v, such as 2.1.0.`);
  }
  assertReleaseTarget(options.platform, options.arch);
  const source = path.resolve(options.source);
  const stat = await fs.stat(source).catch(() => null);
  if (!stat?.isDirectory()) throw new UpdateError('INVALID_INPUT', `Release folder ${source} does not exist or is not a folder.`);
  const outDir = path.resolve(options.outDir);
  if (isInside(source, outDir)) {
    throw new UpdateError('INVALID_INPUT', `Output folder ${outDir} is inside the release folder ${source}, so the archive would pack itself. Choose another --out.`);
  }
  return { source, outDir, format: options.format ?? (options.platform === 'win32' ? 'zip' : 'tar.gz') };
}

/**
 * Packs a folder into `python-backend-<version>-<platform>-<arch>.<format>`
 * in `outDir`. Checks that the entry point exists, keeps every file's
 * permission bits (the executable bit included), and rejects symbolic links
 * and special files. An existing archive of the same name is replaced.
 */
export async function packRelease(options: PackOptions): Promise<PackedArchive> {
  const { source, outDir, format } = await validateOptions(options);
  await assertEntryPoint(source, options.entryPoint ?? 'main.py');
  const entries = await collectSource(source);

  await fs.mkdir(outDir, { recursive: true });
  const name = releaseArchiveName(options.version, options.platform, options.arch, format);
  const file = path.join(outDir, name);
  const partial = `${file}.part`;
  try {
    if (format === 'zip') await writeZip(entries, partial);
    else await writeTarGz(source, entries, partial);
    await fs.rename(partial, file);
  } catch (error) {
    await fs.rm(partial, { force: true });
    throw error;
  }
  const { size } = await fs.stat(file);
  return { file, name, size, sha256: await sha256File(file), files: entries.filter((entry) => !entry.directory).length };
}
