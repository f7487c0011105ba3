import { Worker } from 'node:worker_threads';
import { UpdateError } from '../errors';
import type { PlannedEntry } from './plan';

/** Bytes of one batch of files sent to the writer thread. A whole file (at most 1 MiB) always fits. */
const BATCH_BYTES = 2 * 1024 * 1024;
/** Batches that move between the threads. Their total (8 MiB) bounds the memory of pending writes. */
const BATCH_COUNT = 4;
/** Files per batch at most, so that a batch of tiny files is not held back for long. */
const BATCH_FILES = 64;

/**
 * CommonJS source of the writer thread, given as a string so that it runs the
 * same under tsx, in a bundle and in Electron. It writes each file of a batch
 * with synchronous calls: open with `wx`, write, fchmod, close. It stops a
 * batch at its first failure and returns the batch's buffer in every reply.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');

function writeFile(file, bytes) {
  const fd = fs.openSync(file.path, 'wx', file.mode);
  try {
    for (let written = 0; written < bytes.length; ) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    // open() applies the umask, so fchmod sets the mode exactly.
    fs.fchmodSync(fd, file.mode);
  } finally {
    fs.closeSync(fd);
  }
}

parentPort.on('message', (message) => {
  const data = new Uint8Array(message.buffer);
  let failed = null;
  for (let index = 0; index < message.files.length && failed === null; index += 1) {
    const file = message.files[index];
    try {
      writeFile(file, data.subarray(file.offset, file.offset + file.length));
    } catch (error) {
      failed = { index, code: error.code || null, syscall: error.syscall || null, message: String(error.message || error) };
    }
  }
  parentPort.postMessage({ id: message.id, buffer: message.buffer, failed }, [message.buffer]);
});
`;

interface BatchFile {
  path: string;
  mode: number;
  offset: number;
  length: number;
}

interface Batch {
  view: Uint8Array;
  used: number;
  files: BatchFile[];
  entries: PlannedEntry[];
}

interface WriterReply {
  id: number;
  buffer: ArrayBuffer;
  failed: { index: number; code: string | null; syscall: string | null; message: string } | null;
}

/** Receives the first failure of the writer: an fs error of one entry, or an UpdateError when the thread itself stopped. */
export type WriteFailureHandler = (error: Error, entry: PlannedEntry | null) => void;

/**
 * Writes whole files on a worker thread. Files are copied into batches of up
 * to 2 MiB or 64 files, and each batch is one message. The four async calls
 * per file then become synchronous calls on a second thread, which run beside
 * the decompression on this one.
 */
export class WorkerFileWriter {
  private readonly free: ArrayBuffer[] = Array.from({ length: BATCH_COUNT }, () => new ArrayBuffer(BATCH_BYTES));
  private batch: Batch | null = null;
  private readonly sent = new Map<number, PlannedEntry[]>();
  private nextId = 0;
  private wakers: (() => void)[] = [];
  private stopped = false;

  private constructor(
    private readonly worker: Worker,
    private readonly onFailure: WriteFailureHandler,
  ) {
    worker.on('message', (reply: WriterReply) => this.onReply(reply));
    worker.on('error', (error) => this.stop(`failed: ${error.message}`));
    worker.on('exit', (code) => this.stop(`exited with code ${code}`));
  }

  /** Starts the writer thread, or returns null when no worker can be started. */
  static start(onFailure: WriteFailureHandler): WorkerFileWriter | null {
    try {
      return new WorkerFileWriter(new Worker(WORKER_SOURCE, { eval: true }), onFailure);
    } catch {
      return null;
    }
  }

  /** Copies `content` into the current batch, after waiting for a free batch when every one is in flight. */
  async add(entry: PlannedEntry, mode: number, content: Uint8Array): Promise<void> {
    if (content.length > BATCH_BYTES) throw new Error(`file of ${content.length} bytes does not fit a ${BATCH_BYTES}-byte batch`);
    const batch = this.batch;
    if (batch !== null && (batch.used + content.length > BATCH_BYTES || batch.files.length >= BATCH_FILES)) this.flush();
    while (this.batch === null && this.free.length === 0 && !this.stopped) await new Promise<void>((resolve) => this.wakers.push(resolve));
    if (this.stopped) return;

    this.batch ??= { view: new Uint8Array(this.free.pop()!), used: 0, files: [], entries: [] };
    const current = this.batch;
    current.view.set(content, current.used);
    current.files.push({ path: entry.path, mode, offset: current.used, length: content.length });
    current.entries.push(entry);
    current.used += content.length;
  }

  /** Sends the current batch, if it has files. */
  flush(): void {
    const batch = this.batch;
    this.batch = null;
    if (batch === null || batch.files.length === 0 || this.stopped) return;
    const id = this.nextId;
    this.nextId += 1;
    this.sent.set(id, batch.entries);
    const buffer = batch.view.buffer as ArrayBuffer;
    this.worker.postMessage({ id, buffer, files: batch.files }, [buffer]);
  }

  /** Resolves once every sent batch was written or failed. Files not yet flushed are not waited for. */
  async idle(): Promise<void> {
    while (this.sent.size > 0 && !this.stopped) await new Promise<void>((resolve) => this.wakers.push(resolve));
  }

  /** Stops the thread. Safe to call more than once. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.wake();
    void this.worker.terminate();
  }

  private onReply(reply: WriterReply): void {
    const entries = this.sent.get(reply.id) ?? [];
    this.sent.delete(reply.id);
    this.free.push(reply.buffer);
    if (reply.failed !== null) {
      const { code, syscall, message } = reply.failed;
      const entry = entries[reply.failed.index] ?? null;
      // The fields of the fs error are kept, so that callers map ENOSPC, EEXIST and others as for a write on this thread.
      this.onFailure(Object.assign(new Error(message), { code: code ?? undefined, syscall: syscall ?? undefined, path: entry?.path }), entry);
    }
    this.wake();
  }

  private stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.onFailure(
      new UpdateError('INSTALL_FAILED', `The file writer thread of the extraction ${reason} before every file was written. Try the install again.`),
      null,
    );
    this.wake();
  }

  private wake(): void {
    for (const resolve of this.wakers.splice(0)) resolve();
  }
}
