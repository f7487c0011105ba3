import { createReadStream } from 'node:fs';
import { Parser, type ReadEntry } from 'tar';
import { CancelledError, UpdateError } from '../errors';
import type { ExtractionBudget } from './budget';
import type { ExtractionPlan, PlannedEntry } from './plan';
import { MAX_LINK_TARGET_BYTES, type ArchiveReader } from './reader';
import type { ArchiveEntryInfo, EntryKind } from './types';
import { copyHardlinkEntry, writeFileEntry } from './write';

/** node-tar's guard, which measures the whole tar stream, headers and padding included. */
const TAR_PARSER_MIN_RATIO = 1000;

/**
 * Reads a tar.gz file with node-tar's Parser in two passes over the file. The
 * first lists every header (node-tar skips the bodies), and the second streams
 * the planned entries to disk. Two passes cost a second gunzip, but every name
 * and link is checked, and the shared top folder chosen, before the first byte
 * is written. Extracting into a temp folder and moving children up would write
 * unchecked entries first.
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
    let index = 0;
    await this.walk(signal, {
      visit: async (entry) => {
        const position = index;
        index += 1;
        if (this.names[position] !== entry.path) throw this.changed(`entry "${entry.path}" differs from the first read`);
        const planned = plan.entries[position] ?? null;
        if (planned === null) return;

        if (planned.kind === 'file') await writeFileEntry(planned, entry, budget, signal);
        else if (planned.kind === 'hardlink') await copyHardlinkEntry(planned, budget);
        else links.push(planned);
      },
    });
    if (index !== this.names.length) throw this.changed(`${this.names.length - index} entries of the first read are missing`);
    return links;
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
  private walk(signal: AbortSignal | undefined, handlers: TarHandlers): Promise<void> {
    return new Promise((resolve, reject) => {
      const parser = new Parser({ strict: true, maxDecompressionRatio: Math.max(TAR_PARSER_MIN_RATIO, 2 * this.maxCompressionRatio) });
      const source = createReadStream(this.file);
      let queue = Promise.resolve();
      let current: ReadEntry | undefined;
      let failure: unknown;

      const fail = (error: unknown): void => {
        if (failure !== undefined) return;
        failure = error;
        signal?.removeEventListener('abort', onAbort);
        source.destroy();
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
      parser.on('end', () => {
        void queue.then(() => {
          if (failure !== undefined) return;
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });

      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      source.pipe(parser);
    });
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
