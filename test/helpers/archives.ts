/**
 * Builds real zip and tar.gz archives for tests, including hostile entries
 * (names with `..`, `\`, drive letters, absolute paths, links that leave the root).
 *
 * Zip files come from yazl when it accepts every entry. yazl rejects `..`, `\`
 * and absolute names and always writes "version made by" 0x033F, so archives
 * that need those get their bytes written here by `writeRawZip`.
 * Tar files are written block by block with node-tar's `Header` and `Pax`
 * encoders, which store any name as given (node-tar's `Pack` would sanitize it).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';
import yazl from 'yazl';

/** A regular file with permission bits `mode` (default 0o644). */
export interface FileEntry {
  type: 'file';
  name: string;
  content: string | Buffer;
  mode?: number;
  /** Uncompressed size to store in the zip headers instead of the real one (raw zip writer only). */
  declaredSize?: number;
}

/** A directory. Zip names get a trailing `/` when missing. */
export interface DirectoryEntry {
  type: 'directory';
  name: string;
  mode?: number;
}

/** A symbolic link whose target is stored as given. */
export interface SymlinkEntry {
  type: 'symlink';
  name: string;
  target: string;
}

/** A hard link (tar only) whose target is a path inside the archive. */
export interface HardlinkEntry {
  type: 'hardlink';
  name: string;
  target: string;
}

export type ArchiveEntry = FileEntry | DirectoryEntry | SymlinkEntry | HardlinkEntry;

/** Options for `makeZip`. */
export interface ZipOptions {
  /** "version made by" for every central directory record, which forces the raw writer. */
  versionMadeBy?: number;
  /** Write the bytes here instead of with yazl, even when yazl would accept the entries. */
  raw?: boolean;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** Creates a file entry. */
export function file(name: string, content: string | Buffer = '', mode = 0o644): FileEntry {
  return { type: 'file', name, content, mode };
}

/** Creates a directory entry. */
export function dir(name: string, mode = 0o755): DirectoryEntry {
  return { type: 'directory', name, mode };
}

/** Creates a symbolic link entry. */
export function symlink(name: string, target: string): SymlinkEntry {
  return { type: 'symlink', name, target };
}

/** Creates a hard link entry (tar only). */
export function hardlink(name: string, target: string): HardlinkEntry {
  return { type: 'hardlink', name, target };
}

/** Writes a zip archive with the given entries to `path` and returns `path`. */
export async function makeZip(path: string, entries: ArchiveEntry[], options: ZipOptions = {}): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const needsRaw = options.raw === true || options.versionMadeBy !== undefined || entries.some((entry) => isRejectedByYazl(entry) || (entry.type === 'file' && entry.declaredSize !== undefined));
  if (needsRaw) {
    await writeFile(path, writeRawZip(entries, options.versionMadeBy ?? 0x031e));
    return path;
  }

  const zip = new yazl.ZipFile();
  for (const entry of entries) addToYazl(zip, entry);
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path));
  return path;
}

/** Writes a gzip-compressed tar archive with the given entries to `path` and returns `path`. */
export async function makeTarGz(path: string, entries: ArchiveEntry[]): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const blocks: Buffer[] = [];
  for (const entry of entries) blocks.push(...tarBlocks(entry));
  blocks.push(Buffer.alloc(1024));
  await writeFile(path, gzipSync(Buffer.concat(blocks)));
  return path;
}

/** Returns a buffer of `size` zero bytes, which deflate compresses about 1000:1. */
export function zeros(size: number): Buffer {
  return Buffer.alloc(size);
}

function isRejectedByYazl(entry: ArchiveEntry): boolean {
  if (entry.type === 'hardlink') return true;
  const name = entry.name;
  if (name.includes('\\') || name.startsWith('/') || /^[A-Za-z]:/.test(name)) return true;
  return name.split('/').includes('..');
}

function addToYazl(zip: yazl.ZipFile, entry: ArchiveEntry): void {
  switch (entry.type) {
    case 'file':
      zip.addBuffer(toBuffer(entry.content), entry.name, { mode: S_IFREG | (entry.mode ?? 0o644) });
      return;
    case 'directory':
      zip.addEmptyDirectory(entry.name, { mode: S_IFDIR | (entry.mode ?? 0o755) });
      return;
    case 'symlink':
      zip.addBuffer(Buffer.from(entry.target), entry.name, { mode: S_IFLNK | 0o777, compress: false });
      return;
    case 'hardlink':
      throw new Error(`zip has no hard links: ${entry.name}`);
  }
}

function toBuffer(content: string | Buffer): Buffer {
  return typeof content === 'string' ? Buffer.from(content) : content;
}

interface RawZipRecord {
  name: Buffer;
  declaredSize: number;
  compressed: Buffer;
  method: number;
  crc: number;
  attributes: number;
  offset: number;
}

/** Returns the bytes of a zip file, storing names exactly as given (no checks). */
export function writeRawZip(entries: ArchiveEntry[], versionMadeBy = 0x031e): Buffer {
  const parts: Buffer[] = [];
  const records: RawZipRecord[] = [];
  let offset = 0;

  for (const entry of entries) {
    const record = rawZipRecord(entry, offset);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    writeCommonFields(local, 4, record);
    parts.push(local, record.name, record.compressed);
    offset += local.length + record.name.length + record.compressed.length;
    records.push(record);
  }

  const centralStart = offset;
  for (const record of records) {
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(versionMadeBy, 4);
    writeCommonFields(central, 6, record);
    central.writeUInt32LE(record.attributes >>> 0, 38);
    central.writeUInt32LE(record.offset, 42);
    parts.push(central, record.name);
    offset += central.length + record.name.length;
  }

  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(offset - centralStart, 12);
  end.writeUInt32LE(centralStart, 16);
  parts.push(end);
  return Buffer.concat(parts);
}

function rawZipRecord(entry: ArchiveEntry, offset: number): RawZipRecord {
  if (entry.type === 'hardlink') throw new Error(`zip has no hard links: ${entry.name}`);
  const isDirectory = entry.type === 'directory';
  const name = Buffer.from(isDirectory && !/[/\\]$/.test(entry.name) ? `${entry.name}/` : entry.name);
  let data: Buffer = Buffer.alloc(0);
  if (entry.type === 'file') data = toBuffer(entry.content);
  if (entry.type === 'symlink') data = Buffer.from(entry.target);
  const method = entry.type === 'file' && data.length > 0 ? 8 : 0;
  const compressed = method === 8 ? deflateRawSync(data) : data;
  const unixMode = zipUnixMode(entry);
  // The low byte of the external attributes carries the MS-DOS directory bit (0x10).
  const attributes = ((unixMode << 16) | (isDirectory ? 0x10 : 0)) >>> 0;
  const declaredSize = entry.type === 'file' ? (entry.declaredSize ?? data.length) : data.length;
  return { name, declaredSize, compressed, method, crc: crc32(data), attributes, offset };
}

function zipUnixMode(entry: FileEntry | DirectoryEntry | SymlinkEntry): number {
  if (entry.type === 'directory') return S_IFDIR | (entry.mode ?? 0o755);
  if (entry.type === 'symlink') return S_IFLNK | 0o777;
  return S_IFREG | (entry.mode ?? 0o644);
}

/** Writes the fields that local and central headers share, starting at "version needed". */
function writeCommonFields(buffer: Buffer, at: number, record: RawZipRecord): void {
  buffer.writeUInt16LE(20, at);
  buffer.writeUInt16LE(0x0800, at + 2);
  buffer.writeUInt16LE(record.method, at + 4);
  buffer.writeUInt16LE(0, at + 6);
  buffer.writeUInt16LE(0x21, at + 8);
  buffer.writeUInt32LE(record.crc >>> 0, at + 10);
  buffer.writeUInt32LE(record.compressed.length, at + 14);
  buffer.writeUInt32LE(record.declaredSize, at + 18);
  buffer.writeUInt16LE(record.name.length, at + 22);
  buffer.writeUInt16LE(0, at + 24);
}

function tarBlocks(entry: ArchiveEntry): Buffer[] {
  const data = entry.type === 'file' ? toBuffer(entry.content) : Buffer.alloc(0);
  const fields = {
    path: entry.name,
    mode: tarMode(entry),
    size: data.length,
    type: tarType(entry),
    linkpath: entry.type === 'symlink' || entry.type === 'hardlink' ? entry.target : undefined,
    mtime: new Date('2024-01-01T00:00:00Z'),
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
  } as const;

  const header = new Header(fields);
  const needPax = header.encode();
  const blocks: Buffer[] = [];
  if (needPax) blocks.push(new Pax({ path: fields.path, linkpath: fields.linkpath, size: fields.size }).encode());
  if (!header.block) throw new Error(`tar header was not encoded for ${entry.name}`);
  blocks.push(header.block, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  return blocks;
}

function tarType(entry: ArchiveEntry): 'File' | 'Directory' | 'SymbolicLink' | 'Link' {
  switch (entry.type) {
    case 'file':
      return 'File';
    case 'directory':
      return 'Directory';
    case 'symlink':
      return 'SymbolicLink';
    case 'hardlink':
      return 'Link';
  }
}

function tarMode(entry: ArchiveEntry): number {
  if (entry.type === 'file' || entry.type === 'directory') return entry.mode ?? (entry.type === 'file' ? 0o644 : 0o755);
  return 0o777;
}
