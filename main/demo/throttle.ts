import { Transform, type TransformCallback } from 'node:stream';

/** Slice size of a throttled stream; small slices keep the rate smooth. */
const SLICE_BYTES = 16 * 1024;

/**
 * Returns a stream that passes bytes through at about `bytesPerSecond`, so a
 * local download lasts long enough to watch its progress.
 */
export function createThrottle(bytesPerSecond: number): Transform {
  const startedAt = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const push = (offset: number): void => {
        if (offset >= chunk.length) {
          callback();
          return;
        }
        const slice = chunk.subarray(offset, offset + SLICE_BYTES);
        sent += slice.length;
        this.push(slice);
        const due = startedAt + (sent / bytesPerSecond) * 1000;
        setTimeout(() => push(offset + slice.length), Math.max(0, due - Date.now()));
      };
      push(0);
    },
  });
}
