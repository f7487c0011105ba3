import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { CancelledError, UpdateError } from '../errors';
import type { ExtractionBudget } from './budget';
import type { ExtractionPlan, PlannedEntry } from './plan';
import { MAX_LINK_TARGET_BYTES, type ArchiveReader } from './reader';
import type { ArchiveEntryInfo, EntryKind } from './types';
import { copyHardlinkEntry, writeFileEntry } from './write';
import { FileWriteQueue, WHOLE_FILE_MAX_BYTES } from './write-queue';

/** Smallest decompression ratio limit of a pass; it measures the whole tar stream, headers and padding included. */
const TAR_PARSER_MIN_RATIO = 1000;
/** Read size of the archive file. */
const READ_BYTES = 1024 * 1024;
/**
 * Output piece size of gunzip. node-tar's own gunzip uses zlib's 16 KiB
 * default, and every piece costs a thread-pool round trip and a parser call.
 */
const GUNZIP_CHUNK_BYTES = 256 * 1024;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/**
 * Reads a tar.gz file with node-tar's Parser in two passes over the file. The
 * first lists every header (node-tar skips the bodies), and the second writes
 * the planned entries: files of up to 1 MiB through a write queue that
 * overlaps writing with decompression, larger ones as streams. Two passes
 * cost a second gunzip, but every name and link is checked, and the shared top
 * folder chosen, before the first byte is written. Extracting into a temp
 * folder and moving children up would write unchecked entries first.
 */
export class TarReader implements ArchiveReader {
  /** Entry names of the first pass, which the second pass must meet again in the same order. */
  private names: string[] = [];

  constructor(
    private readonly file: string,
    private readonly maxCompressionRatio: number,
  ) {}

  async list(visit: (info: ArchiveEntryInfo) => void, signal?: AbortSignal): Promise<ArchiveEntryInfo[]> {
    const infos: ArchiveEntryInfo[] = [];
    // Runs inside the Parser's entry event, because gunzip emits a whole input chunk
    // at once and a check queued for later would run after a bomb was inflated.
    await this.walk(signal, {
      inspect: (entry) => {
        const info = describe(entry);
        visit(info);
        infos.push(info);
      },
    });
    this.names = infos.map((info) => info.name);
    return infos;
  }

  async extract(plan: ExtractionPlan, budget: ExtractionBudget, signal?: AbortSignal): Promise<PlannedEntry[]> {
    const links: PlannedEntry[] = [];
    const queue = new FileWriteQueue(budget, signal);
    let index = 0;
    try {
      await this.walk(signal, {
        visit: async (entry) => {
          const position = index;
          index += 1;
          if (this.names[position] !== entry.path) throw this.changed(`entry "${entry.path}" differs from the first read`);
          const planned = plan.entries[position] ?? null;
          if (planned === null) return;

          if (planned.kind === 'file' && (entry.size ?? 0) <= WHOLE_FILE_MAX_BYTES) {
            await queue.add(planned, await this.readWhole(entry));
          } else if (planned.kind === 'file') {
            await writeFileEntry(planned, entry, budget, signal);
          } else if (planned.kind === 'hardlink') {
            // The copied file may still be in the queue.
            await queue.drain();
            await copyHardlinkEntry(planned, budget);
          } else {
            links.push(planned);
          }
        },
      });
      await queue.drain();
    } finally {
      // A failure must not leave writes running while extractArchive removes the folder.
      await queue.settle();
      queue.close();
    }
    if (index !== this.names.length) throw this.changed(`${this.names.length - index} entries of the first read are missing`);
    return links;
  }

  /** Reads the body of a small entry into memory. The parser reads exactly the size in the header. */
  private async readWhole(entry: ReadEntry): Promise<Buffer> {
    const content = await entry.concat();
    if (content.length === (entry.size ?? 0)) return content;
    throw new UpdateError('ARCHIVE_INVALID', `Archive ${this.file}: entry "${entry.path}" ended after ${content.length} of ${entry.size} bytes. Download it again.`, {
      details: { file: this.file, entry: entry.path },
    });
  }

  close(): void {
    // Each pass opens and closes its own read stream.
  }

  /**
   * Feeds the file through a Parser. `inspect` runs as each header is read.
   * `visit` runs on one entry at a time, because the Parser emits the next
   * entry only after the current body was read. The first failure stops
   * reading and is the error that rejects.
   */
  private async walk(signal: AbortSignal | undefined, handlers: TarHandlers): Promise<void> {
    const gzipped = await this.isGzip();
    return new Promise((resolve, reject) => {
      const parser = new Parser({ strict: true, maxDecompressionRatio: this.ratioLimit() });
      const source = createReadStream(this.file, { highWaterMark: READ_BYTES });
      const gunzip = gzipped ? createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }) : null;
      let queue = Promise.resolve();
      let current: ReadEntry | undefined;
      let failure: unknown;

      const fail = (error: unknown): void => {
        if (failure !== undefined) return;
        failure = error;
        signal?.removeEventListener('abort', onAbort);
        source.destroy();
        gunzip?.destroy();
        // A fresh error, because node-tar copies its own fields onto the error it is given.
        parser.abort(new Error('extraction stopped'));
        // Ends a body that is being read, so the pending visit settles before the caller
        // removes the folder. destroy() would not do, because a read that starts after it never settles.
        current?.end();
        void queue.then(() => reject(this.toArchiveError(error)));
      };
      const onAbort = (): void => fail(new CancelledError());

      parser.on('entry', (entry: ReadEntry) => {
        if (failure !== undefined) return void entry.resume();
        try {
          handlers.inspect?.(entry);
        } catch (error) {
          entry.resume();
          return fail(error);
        }

        const visit = handlers.visit;
        if (visit === undefined) return void entry.resume();
        queue = queue
          .then(async () => {
            if (failure !== undefined) return void entry.resume();
            current = entry;
            await visit(entry);
            // Drains bodies that were not read (folders, links, skipped entries).
            entry.resume();
            current = undefined;
          })
          .catch(fail);
      });
      parser.on('error', fail);
      source.on('error', fail);
      gunzip?.on('error', fail);
      parser.on('end', () => {
        void queue.then(() => {
          if (failure !== undefined) return;
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });

      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (gunzip === null) {
        source.pipe(parser);
        return;
      }
      this.guardRatio(source, gunzip, fail);
      source.pipe(gunzip).pipe(parser);
    });
  }

  /** Limit of decompressed to compressed bytes for one pass, which reads headers and padding too. */
  private ratioLimit(): number {
    return Math.max(TAR_PARSER_MIN_RATIO, 2 * this.maxCompressionRatio);
  }

  /**
   * Stops a pass whose gunzip output outgrows the compressed bytes read so far
   * by more than the ratio limit, checked on every output piece, as node-tar
   * does when it decompresses by itself.
   */
  private guardRatio(source: Readable, gunzip: Readable, fail: (error: unknown) => void): void {
    const limit = this.ratioLimit();
    let compressed = 0;
    let decompressed = 0;
    source.on('data', (chunk: Buffer) => {
      compressed += chunk.length;
    });
    gunzip.on('data', (chunk: Buffer) => {
      decompressed += chunk.length;
      const ratio = decompressed / Math.max(compressed, 1);
      if (ratio > limit) fail(new Error(`max decompression ratio exceeded: ${ratio.toFixed(2)} > ${limit}`));
    });
  }

  /** Returns true when the file starts with the gzip magic bytes. Other input goes to node-tar as it is. */
  private async isGzip(): Promise<boolean> {
    const handle = await open(this.file, 'r');
    try {
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
      return bytesRead === 2 && buffer.equals(GZIP_MAGIC);
    } finally {
      await handle.close();
    }
  }

  private toArchiveError(error: unknown): unknown {
    if (error instanceof UpdateError || error instanceof CancelledError) return error;
    const errno = error as NodeJS.ErrnoException;
    if (typeof errno.syscall === 'string') return error;
    const message = (error instanceof Error ? error.message : String(error)).replace(/\.+$/, '');
    if (message.includes('max decompression ratio exceeded')) {
      return new UpdateError('ARCHIVE_TOO_LARGE', `Archive ${this.file} expands like a zip bomb (${message}). Do not install it, and report it to its publisher.`, {
        details: { file: this.file, limit: 'maxCompressionRatio', value: this.maxCompressionRatio },
        cause: error,
      });
    }
    return new UpdateError('ARCHIVE_INVALID', `Archive ${this.file} is not a valid tar.gz file: ${message}. Download it again. If this keeps happening, the release file is damaged.`, {
      details: { file: this.file },
      cause: error,
    });
  }

  private changed(detail: string): UpdateError {
    return new UpdateError('ARCHIVE_INVALID', `Archive ${this.file} changed while it was extracted (${detail}). Download it again.`, {
      details: { file: this.file },
    });
  }
}

interface TarHandlers {
  /** Runs synchronously for each header, before its body is read. */
  inspect?: (entry: ReadEntry) => void;
  /** Runs for each entry in turn and may read its body. */
  visit?: (entry: ReadEntry) => Promise<void>;
}

function describe(entry: ReadEntry): ArchiveEntryInfo {
  const kind = entryKind(entry);
  const info: ArchiveEntryInfo = {
    name: entry.path,
    kind,
    size: kind === 'file' ? (entry.size ?? 0) : 0,
    executable: kind === 'file' && ((entry.mode ?? 0) & 0o111) !== 0,
  };
  if (kind === 'symlink' || kind === 'hardlink') {
    const target = entry.linkpath ?? '';
    if (Buffer.byteLength(target) > MAX_LINK_TARGET_BYTES) throw unsupportedEntry(entry.path, 'is a link with an oversized target');
    info.linkTarget = target;
  }
  return info;
}

function entryKind(entry: ReadEntry): EntryKind {
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
    case 'GNUDumpDir':
      return 'directory';
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hardlink';
    default:
      throw unsupportedEntry(entry.path, `has tar type ${entry.type}, which is not a file, folder or link`);
  }
}

function unsupportedEntry(name: string, reason: string): UpdateError {
  return new UpdateError('UNSAFE_ARCHIVE_ENTRY', `Archive entry "${name}" ${reason}, so the archive was rejected. Report it to its publisher.`, {
    details: { entry: name, reason },
  });
}
