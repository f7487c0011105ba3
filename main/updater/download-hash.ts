import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CancelledError } from './errors';

/**
 * Incremental SHA-256 of a stream of bytes. The worker version keeps the
 * hashing off the main thread, so that receiving, writing and hashing run at
 * the same time.
 */
export interface StreamHasher {
  /** `worker` when the bytes are hashed on a worker thread, `main` when on the calling thread. */
  readonly thread: 'worker' | 'main';
  /** Hashes the whole content of `file` as the first bytes, before any `update`. Used to resume a `.part` file. */
  updateFromFile(file: string, signal?: AbortSignal): Promise<void>;
  /**
   * Adds `bytes`. The hasher copies them before it returns null or before the
   * returned promise resolves, so `bytes` must stay unchanged until then. A
   * promise means that the worker is behind: the caller waits for it before it
   * reads more, which is how backpressure reaches the socket.
   */
  update(bytes: Uint8Array): Promise<void> | null;
  /** Returns the lowercase hex SHA-256 of everything added. Rejects when the worker failed or was closed. */
  digest(): Promise<string>;
  /** Stops the worker, if any. Safe to call more than once and after `digest`. */
  close(): void;
}

/** Bytes of one batch sent to the worker: large enough that messaging costs little. */
const BATCH_BYTES = 1024 * 1024;
/** Batches that move between the threads. Their total (8 MiB) is the most memory the hashing adds, whatever the download size. */
const BATCH_COUNT = 8;
/** Read size of the worker when it hashes a file. */
const FILE_READ_BYTES = 1024 * 1024;

/**
 * CommonJS source of the worker, given as a string so that it runs the same
 * under tsx, in a bundle and in Electron. Each batch is an ArrayBuffer that is
 * transferred to the worker and back, so no message copies or allocates the
 * bytes.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const hash = createHash('sha256');

function hashFile(file) {
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(${FILE_READ_BYTES});
  try {
    for (let read = fs.readSync(fd, buffer); read > 0; read = fs.readSync(fd, buffer)) hash.update(buffer.subarray(0, read));
  } finally {
    fs.closeSync(fd);
  }
}

parentPort.on('message', (message) => {
  try {
    if (message.type === 'data') {
      hash.update(new Uint8Array(message.buffer, 0, message.length));
      parentPort.postMessage({ type: 'ack', buffer: message.buffer }, [message.buffer]);
    } else if (message.type === 'file') {
      hashFile(message.path);
      parentPort.postMessage({ type: 'file' });
    } else if (message.type === 'digest') {
      parentPort.postMessage({ type: 'digest', hex: hash.digest('hex') });
    }
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String((error && error.message) || error), code: (error && error.code) || null });
  }
});
`;

type WorkerReply = { type: 'ack'; buffer: ArrayBuffer } | { type: 'file' } | { type: 'digest'; hex: string } | { type: 'error'; message: string; code: string | null };

/** Error of the hash worker. `code` is the errno code of a file error, such as ENOENT, and null when the worker itself failed. */
export class HashWorkerError extends Error {
  constructor(
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'HashWorkerError';
  }
}

/** Hasher on the calling thread; the fallback when no worker can be started. */
class MainThreadHasher implements StreamHasher {
  readonly thread = 'main' as const;
  private readonly hash = createHash('sha256');

  async updateFromFile(file: string, signal?: AbortSignal): Promise<void> {
    try {
      for await (const chunk of createReadStream(file, { highWaterMark: FILE_READ_BYTES, signal })) this.hash.update(chunk as Buffer);
    } catch (error) {
      if (signal?.aborted) throw new CancelledError();
      throw error;
    }
  }

  update(bytes: Uint8Array): null {
    this.hash.update(bytes);
    return null;
  }

  async digest(): Promise<string> {
    return this.hash.digest('hex');
  }

  close(): void {}
}

/** A request to the worker that waits for its one reply. */
interface Waiter {
  type: 'file' | 'digest';
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

/**
 * Hasher on a worker thread. Bytes are copied into a fixed set of batches,
 * and each full batch is transferred to the worker in one message. The
 * worker transfers the batch back once hashed, which frees it for new bytes.
 * Plain ArrayBuffers are used because copying into a SharedArrayBuffer was
 * slower: in a CPU profile of a 256 MiB download (Node 20, `npm run bench`),
 * the copies took 107 ms with shared batches and 27 ms with transferred ones.
 * The first failure is kept: later bytes are dropped and `digest` rejects with it.
 */
class WorkerHasher implements StreamHasher {
  readonly thread = 'worker' as const;
  private readonly free: ArrayBuffer[] = Array.from({ length: BATCH_COUNT }, () => new ArrayBuffer(BATCH_BYTES));
  private current: Uint8Array | null = null;
  private used = 0;
  private freed: (() => void)[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: Error | null = null;
  private closed = false;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (error) => this.fail(new HashWorkerError(`SHA-256 worker failed: ${error.message}`)));
    worker.on('exit', (code) => this.fail(new HashWorkerError(`SHA-256 worker exited with code ${code}`)));
  }

  async updateFromFile(file: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new CancelledError();
    const onAbort = (): void => this.fail(new CancelledError());
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.request('file', { type: 'file', path: file });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  update(bytes: Uint8Array): Promise<void> | null {
    // After a failure the bytes are dropped, because digest() rejects anyway.
    if (this.failure) return null;
    const copied = this.copy(bytes);
    if (copied < bytes.length) return this.waitForFreeBatch().then(() => this.update(bytes.subarray(copied)) ?? undefined);
    return this.free.length === 0 ? this.waitForFreeBatch() : null;
  }

  async digest(): Promise<string> {
    this.sendBatch();
    const reply = await this.request('digest', { type: 'digest' });
    return reply.type === 'digest' ? reply.hex : '';
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fail(new HashWorkerError('SHA-256 worker was closed before the digest'));
    void this.worker.terminate();
  }

  /** Copies as many bytes as free batches hold and returns that count. */
  private copy(bytes: Uint8Array): number {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.current === null) {
        const next = this.free.pop();
        if (next === undefined) break;
        this.current = new Uint8Array(next);
        this.used = 0;
      }
      const count = Math.min(bytes.length - offset, BATCH_BYTES - this.used);
      this.current.set(bytes.subarray(offset, offset + count), this.used);
      this.used += count;
      offset += count;
      if (this.used === BATCH_BYTES) this.sendBatch();
    }
    return offset;
  }

  private sendBatch(): void {
    if (this.current === null || this.failure) return;
    const buffer = this.current.buffer as ArrayBuffer;
    this.worker.postMessage({ type: 'data', buffer, length: this.used }, [buffer]);
    this.current = null;
    this.used = 0;
  }

  private waitForFreeBatch(): Promise<void> {
    return new Promise((resolve) => this.freed.push(resolve));
  }

  private request(type: Waiter['type'], message: object): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ type, resolve, reject });
      this.worker.postMessage(message);
    });
  }

  private onReply(reply: WorkerReply): void {
    if (reply.type === 'error') {
      // A file error keeps the message and errno code of fs, as a read on this thread would.
      this.fail(new HashWorkerError(reply.code === null ? `SHA-256 worker failed: ${reply.message}` : reply.message, reply.code));
      return;
    }
    if (reply.type === 'ack') {
      this.free.push(reply.buffer);
      this.wakeWriters();
      return;
    }
    const index = this.waiters.findIndex((waiter) => waiter.type === reply.type);
    const [waiter] = index >= 0 ? this.waiters.splice(index, 1) : [];
    waiter?.resolve(reply);
  }

  private wakeWriters(): void {
    for (const resolve of this.freed.splice(0)) resolve();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.wakeWriters();
    this.close();
  }
}

/**
 * Creates a hasher on a worker thread, or on the calling thread when
 * `useWorker` is false or no worker can be started (for example where
 * worker_threads is disabled). The worker keeps the process alive until
 * `close()`, so every caller closes it in a `finally`.
 */
export function createStreamHasher(useWorker = true): StreamHasher {
  if (!useWorker) return new MainThreadHasher();
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true });
  } catch {
    return new MainThreadHasher();
  }
  return new WorkerHasher(worker);
}
