import { close, read } from 'node:fs';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';

/**
 * Bytes read from the zip file at once. yauzl itself reads every central
 * directory record, local header and data range with separate small reads,
 * which for thousands of entries costs thousands of thread-pool round trips.
 */
const BLOCK_BYTES = 1024 * 1024;

function readAt(fd: number, length: number, position: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const buffer = Buffer.allocUnsafe(length);
    read(fd, buffer, 0, length, position, (error, bytesRead) => {
      if (error) reject(error);
      else resolve(buffer.subarray(0, bytesRead));
    });
  });
}

/**
 * yauzl random-access reader over an open file that reads 1 MiB blocks and
 * serves smaller reads from the last block. Extraction reads the archive
 * front to back, so most reads hit that block. It owns the descriptor and
 * closes it when yauzl releases the reader.
 */
export class BlockFileReader extends yauzl.RandomAccessReader {
  private block: Buffer = Buffer.alloc(0);
  private blockStart = 0;

  constructor(private readonly fd: number) {
    super();
  }

  /**
   * Returns `length` bytes at `position`, or fewer at the end of the file.
   * The result may share memory with the cached block, which is never
   * written again, so it stays valid.
   */
  async readRange(position: number, length: number): Promise<Buffer> {
    const offset = position - this.blockStart;
    if (offset >= 0 && offset + length <= this.block.length) return this.block.subarray(offset, offset + length);
    if (length > BLOCK_BYTES) return readAt(this.fd, length, position);
    this.block = await readAt(this.fd, BLOCK_BYTES, position);
    this.blockStart = position;
    return this.block.subarray(0, length);
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (error: Error | null, bytesRead?: number) => void): void {
    this.readRange(position, length).then(
      (bytes) => callback(null, bytes.copy(buffer, offset)),
      (error: Error) => callback(error),
    );
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const reader = this;
    async function* blocks(): AsyncGenerator<Buffer> {
      for (let position = start; position < end; ) {
        const bytes = await reader.readRange(position, Math.min(BLOCK_BYTES, end - position));
        // A short read means the file ended early. yauzl's byte count check reports it.
        if (bytes.length === 0) return;
        position += bytes.length;
        yield bytes;
      }
    }
    return Readable.from(blocks(), { objectMode: false });
  }

  override close(callback: (error: Error | null) => void): void {
    close(this.fd, callback);
  }
}
