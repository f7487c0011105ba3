import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import yazl from 'yazl';
import { UpdateError } from '../updater/errors';

/** Options of `packSampleBackend`. */
export interface PackSampleOptions {
  /** Release version, written to the VERSION file and into the archive names. */
  version: string;
  /** Folder that receives the archives and SHA256SUMS; created when missing. */
  outDir: string;
  /** Archive formats to build. @default ['zip', 'tar.gz'] */
  formats?: ('zip' | 'tar.gz')[];
  /** One top folder around the files: `true` for `<namePrefix>-<version>`, or a folder name. @default false */
  topFolder?: boolean | string;
  /** Marker file that makes a broken release for rollback tests. @default null */
  fault?: 'fail-health' | 'crash-on-start' | null;
  /** Start of every archive name. @default 'python-backend' */
  namePrefix?: string;
  /** Platform part appended to the archive names, such as `linux-x64`. @default null */
  platformSuffix?: string | null;
  /**
   * Size in bytes of an incompressible `payload.bin` added to the release, so
   * that a download lasts long enough to watch. @default 0 (no payload)
   */
  payloadBytes?: number;
}

/** Archives written by `packSampleBackend`. */
export interface PackedRelease {
  version: string;
  /** Absolute paths of the archives, in the order of `formats`. */
  files: string[];
  /** Absolute path of the SHA256SUMS file. */
  sumsFile: string;
  /** Lower-case hex SHA-256 by archive file name. */
  sha256: Record<string, string>;
}

type ArchiveFormat = 'zip' | 'tar.gz';

interface ArchiveEntry {
  /** Path inside the archive with `/` separators; directories end with `/`. */
  name: string;
  /** File content, or null for a directory. */
  data: Buffer | null;
  mode: number;
}

/** Location of the sample backend sources, found from this file so the current directory does not matter. */
// NOTE: this resolves against the source tree; a bundled build of main/ would need the folder copied next to it.
export const SAMPLE_BACKEND_DIR = fileURLToPath(new URL('../../examples/python-backend/', import.meta.url));

// A fixed modification time makes two runs with the same input produce identical archives.
const ARCHIVE_MTIME_UTC = new Date(Date.UTC(2000, 0, 1));
// Zip stores local DOS time only (with forceDosTimestamp), so the date is built in local time
// to give the same bytes in every time zone.
const ZIP_MTIME_LOCAL = new Date(2000, 0, 1);

const FAULT_MARKERS = { 'fail-health': 'FAIL_HEALTH', 'crash-on-start': 'CRASH_ON_START' } as const;
const SAFE_NAME_PART = /^[0-9A-Za-z][0-9A-Za-z._+-]*$/;

/** Builds zip and tar.gz releases of the sample backend plus a SHA256SUMS file for them. */
export async function packSampleBackend(options: PackSampleOptions): Promise<PackedRelease> {
  const formats = options.formats ?? ['zip', 'tar.gz'];
  const prefix = options.namePrefix ?? 'python-backend';
  const suffix = options.platformSuffix ?? null;
  validateNamePart('version', options.version);
  validateNamePart('namePrefix', prefix);
  if (suffix !== null) validateNamePart('platformSuffix', suffix);
  if (formats.length === 0) {
    throw new UpdateError('INVALID_INPUT', 'No archive format requested; pass formats ["zip"], ["tar.gz"] or both.');
  }

  const entries = await collectEntries(options, prefix);
  const outDir = path.resolve(options.outDir);
  await fs.mkdir(outDir, { recursive: true });

  const baseName = [prefix, options.version, suffix].filter((part) => part !== null).join('-');
  const files: string[] = [];
  const sha256: Record<string, string> = {};
  for (const format of [...new Set(formats)]) {
    const file = path.join(outDir, `${baseName}.${format}`);
    if (format === 'zip') await writeZip(entries, file);
    else await writeTarGz(entries, file);
    files.push(file);
    sha256[path.basename(file)] = await hashFile(file);
  }

  const sumsFile = path.join(outDir, 'SHA256SUMS');
  const lines = Object.entries(sha256).map(([name, hex]) => `${hex}  ${name}\n`);
  await fs.writeFile(sumsFile, lines.join(''));
  return { version: options.version, files, sumsFile, sha256 };
}

function validateNamePart(label: string, value: string): void {
  if (SAFE_NAME_PART.test(value)) return;
  throw new UpdateError(
    'INVALID_INPUT',
    `Invalid ${label} "${value}" for an archive name; use letters, digits, ".", "_", "+" and "-", starting with a letter or digit.`,
  );
}

/** Lists the archive entries: main.py, VERSION and the fault marker, under the top folder when one is requested. */
async function collectEntries(options: PackSampleOptions, prefix: string): Promise<ArchiveEntry[]> {
  const mainFile = path.join(SAMPLE_BACKEND_DIR, 'main.py');
  const files: ArchiveEntry[] = [
    { name: 'main.py', data: await fs.readFile(mainFile), mode: 0o755 },
    { name: 'VERSION', data: Buffer.from(`${options.version}\n`), mode: 0o644 },
  ];
  const fault = options.fault ?? null;
  if (fault !== null) {
    const marker = FAULT_MARKERS[fault];
    files.push({ name: marker, data: Buffer.from(`${marker} marker: this release is broken on purpose.\n`), mode: 0o644 });
  }

  if (options.payloadBytes) files.push({ name: 'payload.bin', data: payload(options.payloadBytes), mode: 0o644 });

  const top = topFolderName(options, prefix);
  if (top === null) return files;
  const directory: ArchiveEntry = { name: `${top}/`, data: null, mode: 0o755 };
  return [directory, ...files.map((entry) => ({ ...entry, name: `${top}/${entry.name}` }))];
}

/** Returns `size` pseudo-random bytes that are the same on every run (AES-128-CTR over zeros with a fixed key). */
function payload(size: number): Buffer {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

function topFolderName(options: PackSampleOptions, prefix: string): string | null {
  const topFolder = options.topFolder ?? false;
  if (topFolder === false) return null;
  if (topFolder === true) return `${prefix}-${options.version}`;
  validateNamePart('topFolder', topFolder);
  return topFolder;
}

async function writeZip(entries: ArchiveEntry[], file: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    // yazl stores the mode in the upper 16 bits of the external attributes with a Unix
    // "version made by", so the file type bits must be part of it.
    if (entry.data === null) {
      zip.addEmptyDirectory(entry.name, { mtime: ZIP_MTIME_LOCAL, mode: 0o040000 | entry.mode, forceDosTimestamp: true });
    } else {
      zip.addBuffer(entry.data, entry.name, { mtime: ZIP_MTIME_LOCAL, mode: 0o100000 | entry.mode, forceDosTimestamp: true });
    }
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
}

/** Writes the entries to a temporary folder with exact modes, then packs that folder with node-tar. */
async function writeTarGz(entries: ArchiveEntry[], file: string): Promise<void> {
  const stagingDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pack-sample-'));
  try {
    for (const entry of entries) {
      const target = path.join(stagingDir, entry.name);
      if (entry.data === null) await fs.mkdir(target, { recursive: true });
      else await fs.writeFile(target, entry.data);
      // chmod after writing, because the mode given to writeFile is reduced by the umask.
      await fs.chmod(target, entry.mode);
    }
    const paths = entries.map((entry) => entry.name.replace(/\/$/, ''));
    await tar.create(
      { file, cwd: stagingDir, gzip: true, portable: true, mtime: ARCHIVE_MTIME_UTC, noDirRecurse: true },
      paths,
    );
  } finally {
    await fs.rm(stagingDir, { recursive: true, force: true });
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
