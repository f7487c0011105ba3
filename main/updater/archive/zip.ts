import { close as closeFile, fstat, open as openFile } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { createInflateRaw, inflateRawSync } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { throwIfCancelled, UpdateError } from '../errors';
import type { ExtractionBudget } from './budget';
import type { ExtractionPlan, PlannedEntry } from './plan';
import { MAX_LINK_TARGET_BYTES, type ArchiveReader } from './reader';
import type { ArchiveEntryInfo, EntryKind } from './types';
import { writeFileEntry } from './write';
import { FileWriteQueue, WHOLE_FILE_MAX_BYTES } from './write-queue';
import { BlockFileReader } from './zip-source';

const UNIX_HOST = 3;
const TYPE_MASK = 0o170000;
const TYPE_REGULAR = 0o100000;
const TYPE_DIRECTORY = 0o040000;
const TYPE_SYMLINK = 0o120000;
/** Zip compression method 0: the data is stored as is. */
const STORED = 0;
/** Output piece size of the inflate stream for large entries. */
const INFLATE_CHUNK_BYTES = 256 * 1024;

/**
 * Pipes `source` through `stages` and returns the last stage. An error of any
 * stream reaches the last one, and destroying the last one destroys the rest.
 */
function chainStreams(source: Readable, ...stages: Transform[]): Readable {
  const last = stages.at(-1) ?? source;
  let previous = source;
  for (const stage of stages) {
    previous.on('error', (error) => last.destroy(error));
    previous = previous.pipe(stage);
  }
  last.once('close', () => {
    source.destroy();
    for (const stage of stages) stage.destroy();
  });
  return last;
}

/**
 * Reads a zip file with yauzl over a block-caching reader. The central
 * directory is listed first, then each planned entry is read from the same
 * open file. Files of up to 1 MiB are read, inflated and handed to a write
 * queue whole, so that writing overlaps the inflating of the next entries.
 * Larger files are streamed.
 */
export class ZipReader implements ArchiveReader {
  private entries: Entry[] = [];

  private constructor(
    private readonly zip: ZipFile,
    private readonly source: BlockFileReader,
    private readonly file: string,
  ) {}

  /** Opens `file`, or throws when it is not a readable zip (extractArchive reports ARCHIVE_INVALID). */
  static async open(file: string): Promise<ZipReader> {
    const fd = await promisify(openFile)(file, 'r');
    const source = new BlockFileReader(fd);
    try {
      const { size } = await promisify(fstat)(fd);
      // decodeStrings is off so that yauzl neither turns `\` into `/` nor rejects
      // `..` on its own. resolveEntryPath checks the raw names and reports the entry.
      const options = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true };
      const zip = await yauzl.fromRandomAccessReaderPromise(source, size, options);
      return new ZipReader(zip, source, file);
    } catch (error) {
      // yauzl releases the reader only through a ZipFile, so a failed open closes the descriptor here.
      await promisify(closeFile)(fd).catch(() => undefined);
      throw error;
    }
  }

  async list(visit: (info: ArchiveEntryInfo) => void, signal?: AbortSignal): Promise<ArchiveEntryInfo[]> {
    const infos: ArchiveEntryInfo[] = [];
    for await (const entry of this.zip.eachEntry()) {
      throwIfCancelled(signal);
      const info = await this.describe(entry);
      visit(info);
      this.entries.push(entry);
      infos.push(info);
    }
    return infos;
  }

  async extract(plan: ExtractionPlan, budget: ExtractionBudget, signal?: AbortSignal): Promise<PlannedEntry[]> {
    const links: PlannedEntry[] = [];
    const queue = new FileWriteQueue(budget, signal);
    try {
      for (const [index, planned] of plan.entries.entries()) {
        throwIfCancelled(signal);
        const entry = this.entries[index];
        if (planned === null || entry === undefined) continue;
        if (planned.kind === 'symlink') {
          links.push(planned);
          continue;
        }
        if (entry.uncompressedSize <= WHOLE_FILE_MAX_BYTES && entry.compressedSize <= WHOLE_FILE_MAX_BYTES) {
          await queue.add(planned, await this.readWhole(entry, planned.name));
        } else {
          await writeFileEntry(planned, await this.openStream(entry), budget, signal);
        }
      }
      await queue.drain();
    } finally {
      // A failure must not leave writes running while extractArchive removes the folder.
      await queue.settle();
      queue.close();
    }
    return links;
  }

  close(): void {
    this.zip.close();
  }

  /** Returns the content of a small entry, inflated and checked against its declared size. */
  private async readWhole(entry: Entry, name: string): Promise<Buffer> {
    const { fileDataStart } = await this.zip.readLocalFileHeaderPromise(entry, { minimal: true });
    const stored = await this.source.readRange(fileDataStart, entry.compressedSize);
    if (stored.length !== entry.compressedSize) throw invalidEntry(this.file, name, 'ends before its data does (the archive is truncated)');
    if (entry.compressionMethod === STORED) return checkSize(this.file, name, stored, entry.uncompressedSize);

    let content: Buffer;
    try {
      // The output limit stops a lying header from inflating more than it declares.
      content = inflateRawSync(stored, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw invalidEntry(this.file, name, `inflates to more than its declared ${entry.uncompressedSize} bytes`);
      throw invalidEntry(this.file, name, `has corrupt compressed data (${(error as Error).message})`);
    }
    return checkSize(this.file, name, content, entry.uncompressedSize);
  }

  /** Opens a large entry as a stream, inflated in 256 KiB pieces instead of zlib's default 16 KiB. */
  private async openStream(entry: Entry): Promise<Readable> {
    if (entry.compressionMethod === STORED) return this.zip.openReadStreamPromise(entry);
    const raw = await this.zip.openReadStreamPromise(entry, { decodeFileData: false });
    return chainStreams(raw, createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES }), new ByteCountCheck(entry.uncompressedSize));
  }

  private async describe(entry: Entry): Promise<ArchiveEntryInfo> {
    // With decodeStrings off, yauzl leaves the name as bytes, and strict mode keeps `\` as stored.
    const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
    const unixMode = unixModeOf(entry);
    const kind = entryKind(name, unixMode);
    if (kind === null) throw unsupportedEntry(name, unixMode ?? 0);
    if (entry.isEncrypted()) throw invalidEntry(this.file, name, 'is encrypted');
    if (!entry.canDecodeFileData()) throw invalidEntry(this.file, name, `uses compression method ${entry.compressionMethod}, which is not supported`);

    const info: ArchiveEntryInfo = {
      name,
      kind,
      size: kind === 'file' ? entry.uncompressedSize : 0,
      executable: kind === 'file' && unixMode !== null && (unixMode & 0o111) !== 0,
    };
    if (kind === 'symlink') info.linkTarget = await this.readLinkTarget(entry, name);
    return info;
  }

  private async readLinkTarget(entry: Entry, name: string): Promise<string> {
    if (entry.uncompressedSize > MAX_LINK_TARGET_BYTES) throw invalidEntry(this.file, name, 'is a link with an oversized target');
    const chunks: Buffer[] = [];
    for await (const chunk of await this.zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
}

function checkSize(file: string, name: string, content: Buffer, declared: number): Buffer {
  if (content.length === declared) return content;
  throw invalidEntry(file, name, `contains ${content.length} bytes, but its header declares ${declared}`);
}

/** Passes bytes through and fails when their count differs from the entry's declared size. */
class ByteCountCheck extends Transform {
  private count = 0;

  constructor(private readonly expected: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length;
    if (this.count > this.expected) callback(new Error(`too many bytes in the entry: expected ${this.expected}, got at least ${this.count}`));
    else callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.count < this.expected) callback(new Error(`not enough bytes in the entry: expected ${this.expected}, got only ${this.count}`));
    else callback();
  }
}

/**
 * Returns the Unix mode stored in the high 16 bits of the external attributes,
 * or null when the entry was not made on Unix. Only the high byte of "version
 * made by" names the host system. The low byte is the zip spec version.
 */
function unixModeOf(entry: Entry): number | null {
  if (entry.versionMadeBy >>> 8 !== UNIX_HOST) return null;
  return entry.externalFileAttributes >>> 16;
}

/** Returns the entry's kind, or null for devices, FIFOs and sockets. */
function entryKind(name: string, unixMode: number | null): EntryKind | null {
  const type = unixMode === null ? 0 : unixMode & TYPE_MASK;
  if (name.endsWith('/') || name.endsWith('\\') || type === TYPE_DIRECTORY) return 'directory';
  if (type === TYPE_SYMLINK) return 'symlink';
  if (type === 0 || type === TYPE_REGULAR) return 'file';
  return null;
}

function unsupportedEntry(name: string, mode: number): UpdateError {
  return new UpdateError(
    'UNSAFE_ARCHIVE_ENTRY',
    `Archive entry "${name}" has Unix file type ${(mode & TYPE_MASK).toString(8)}, which is not a file, folder or link, so the archive was rejected. Report it to its publisher.`,
    { details: { entry: name, reason: 'unsupported file type' } },
  );
}

function invalidEntry(file: string, name: string, reason: string): UpdateError {
  return new UpdateError('ARCHIVE_INVALID', `Archive ${file}: entry "${name}" ${reason}. Report the archive to its publisher.`, {
    details: { file, entry: name, reason },
  });
}
