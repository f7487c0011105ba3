import { throwIfCancelled } from '../errors';
import type { ExtractionBudget } from './budget';
import type { PlannedEntry } from './plan';
import { EXECUTABLE_MODE, FILE_MODE, withEntryContext, writeWholeFile } from './write';
import { WorkerFileWriter } from './write-worker';

/** Largest file that a reader keeps whole in memory and passes to the write queue. Larger files are streamed. */
export const WHOLE_FILE_MAX_BYTES = 1024 * 1024;
/** Writes running at once without a writer thread: enough to keep the thread pool busy while the reader decompresses. */
const MAX_PENDING_WRITES = 8;
/** Bytes held by pending writes without a writer thread, which bounds the memory of the queue. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * Writes small files in the background while the reader decompresses the
 * next entries. A writer thread writes them in batches when one can be
 * started; otherwise up to eight async writes run at once. Every file has
 * its own path from the plan, which rejected duplicates, so the writes never
 * touch the same file. Call `close()` when done.
 */
export class FileWriteQueue {
  private readonly writer: WorkerFileWriter | null;
  private readonly pending = new Set<Promise<void>>();
  private pendingBytes = 0;
  private failed = false;
  private failure: unknown;

  constructor(
    private readonly budget: ExtractionBudget,
    private readonly signal?: AbortSignal,
    options: { useWorker?: boolean } = {},
  ) {
    const onFailure = (error: Error, entry: PlannedEntry | null): void => this.fail(entry === null ? error : withEntryContext(error, entry));
    this.writer = options.useWorker === false ? null : WorkerFileWriter.start(onFailure);
  }

  /** Write path in use: `worker` for the writer thread, `thread-pool` for async writes. */
  get mode(): 'worker' | 'thread-pool' {
    return this.writer === null ? 'thread-pool' : 'worker';
  }

  /**
   * Counts `content` against the budget and queues it, after waiting while
   * the queue is full. Throws the error of an earlier failed write, so a
   * failure stops the reader at its next entry.
   */
  async add(entry: PlannedEntry, content: Buffer): Promise<void> {
    this.throwIfFailed();
    throwIfCancelled(this.signal);
    this.budget.addBytes(content.length);
    if (this.writer !== null) {
      await this.writer.add(entry, entry.executable ? EXECUTABLE_MODE : FILE_MODE, content);
      this.throwIfFailed();
      return;
    }

    while (this.pending.size >= MAX_PENDING_WRITES || (this.pending.size > 0 && this.pendingBytes + content.length > MAX_PENDING_BYTES)) {
      await Promise.race(this.pending);
      this.throwIfFailed();
    }
    throwIfCancelled(this.signal);
    this.pendingBytes += content.length;
    const write: Promise<void> = writeWholeFile(entry, content)
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.pending.delete(write);
        this.pendingBytes -= content.length;
      });
    this.pending.add(write);
  }

  /** Writes every queued file, waits for all of them and throws the first failure. */
  async drain(): Promise<void> {
    this.writer?.flush();
    await this.settle();
    this.throwIfFailed();
  }

  /** Waits for every write in progress without throwing, so that none runs after the caller gives up. */
  async settle(): Promise<void> {
    await this.writer?.idle();
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** Stops the writer thread. Files queued but not flushed are dropped. */
  close(): void {
    this.writer?.close();
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = error;
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failure;
  }
}
