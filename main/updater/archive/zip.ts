import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { throwIfCancelled, UpdateError } from '../errors';
import type { ExtractionBudget } from './budget';
import type { ExtractionPlan, PlannedEntry } from './plan';
import { MAX_LINK_TARGET_BYTES, type ArchiveReader } from './reader';
import type { ArchiveEntryInfo, EntryKind } from './types';
import { writeFileEntry } from './write';

const UNIX_HOST = 3;
const TYPE_MASK = 0o170000;
const TYPE_REGULAR = 0o100000;
const TYPE_DIRECTORY = 0o040000;
const TYPE_SYMLINK = 0o120000;

/**
 * Reads a zip file with yauzl. The central directory is listed first, then
 * each planned entry is streamed from the same open file.
 */
export class ZipReader implements ArchiveReader {
  private entries: Entry[] = [];

  private constructor(
    private readonly zip: ZipFile,
    private readonly file: string,
  ) {}

  /** Opens `file`, or throws when it is not a readable zip (extractArchive reports ARCHIVE_INVALID). */
  static async open(file: string): Promise<ZipReader> {
    // decodeStrings is off so that yauzl neither turns `\` into `/` nor rejects
    // `..` on its own. resolveEntryPath checks the raw names and reports the entry.
    const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true });
    return new ZipReader(zip, file);
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
    for (const [index, planned] of plan.entries.entries()) {
      throwIfCancelled(signal);
      const entry = this.entries[index];
      if (planned === null || entry === undefined) continue;
      if (planned.kind === 'symlink') {
        links.push(planned);
        continue;
      }
      const stream = await this.zip.openReadStreamPromise(entry);
      await writeFileEntry(planned, stream, budget, signal);
    }
    return links;
  }

  close(): void {
    this.zip.close();
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
