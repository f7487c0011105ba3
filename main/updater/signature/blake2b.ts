/**
 * BLAKE2b with a chosen digest length (RFC 7693), unkeyed.
 *
 * Node 20 exposes only `blake2b512`, whose digest length is fixed, but the
 * checksum inside a minisign secret key is BLAKE2b with a 32-byte digest,
 * which is a different function from a truncated BLAKE2b-512. This file is
 * used only for that 104-byte input, so it favours plain BigInt arithmetic
 * over speed. Prehashed signatures use Node's own `blake2b512` instead.
 */
// NOTE: a maintained package such as @noble/hashes (blake2b with `dkLen`) would replace this file;
// it is not among the project's dependencies.

const MASK_64 = (1n << 64n) - 1n;
const BLOCK_BYTES = 128;

const IV: readonly bigint[] = [
  0x6a09e667f3bcc908n,
  0xbb67ae8584caa73bn,
  0x3c6ef372fe94f82bn,
  0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n,
  0x9b05688c2b3e6c1fn,
  0x1f83d9abfb41bd6bn,
  0x5be0cd19137e2179n,
];

/** Message word order of each round; rounds 10 and 11 repeat rounds 0 and 1. */
const SIGMA: readonly (readonly number[])[] = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

function rotateRight(value: bigint, bits: bigint): bigint {
  return ((value >> bits) | (value << (64n - bits))) & MASK_64;
}

/** The G mixing function on four words of the working vector. */
function mix(v: bigint[], a: number, b: number, c: number, d: number, x: bigint, y: bigint): void {
  v[a] = ((v[a] as bigint) + (v[b] as bigint) + x) & MASK_64;
  v[d] = rotateRight((v[d] as bigint) ^ (v[a] as bigint), 32n);
  v[c] = ((v[c] as bigint) + (v[d] as bigint)) & MASK_64;
  v[b] = rotateRight((v[b] as bigint) ^ (v[c] as bigint), 24n);
  v[a] = ((v[a] as bigint) + (v[b] as bigint) + y) & MASK_64;
  v[d] = rotateRight((v[d] as bigint) ^ (v[a] as bigint), 16n);
  v[c] = ((v[c] as bigint) + (v[d] as bigint)) & MASK_64;
  v[b] = rotateRight((v[b] as bigint) ^ (v[c] as bigint), 63n);
}

/** Compresses one 128-byte block into the state `h`; `counter` is the number of input bytes so far. */
function compress(h: bigint[], block: Buffer, counter: bigint, last: boolean): void {
  const m: bigint[] = [];
  for (let i = 0; i < 16; i += 1) m.push(block.readBigUInt64LE(i * 8));

  const v = [...h, ...IV];
  v[12] = (v[12] as bigint) ^ (counter & MASK_64);
  v[13] = (v[13] as bigint) ^ (counter >> 64n);
  if (last) v[14] = (v[14] as bigint) ^ MASK_64;

  for (let round = 0; round < 12; round += 1) {
    const s = SIGMA[round % 10] as readonly number[];
    const word = (index: number): bigint => m[s[index] as number] as bigint;
    mix(v, 0, 4, 8, 12, word(0), word(1));
    mix(v, 1, 5, 9, 13, word(2), word(3));
    mix(v, 2, 6, 10, 14, word(4), word(5));
    mix(v, 3, 7, 11, 15, word(6), word(7));
    mix(v, 0, 5, 10, 15, word(8), word(9));
    mix(v, 1, 6, 11, 12, word(10), word(11));
    mix(v, 2, 7, 8, 13, word(12), word(13));
    mix(v, 3, 4, 9, 14, word(14), word(15));
  }
  for (let i = 0; i < 8; i += 1) h[i] = (h[i] as bigint) ^ (v[i] as bigint) ^ (v[i + 8] as bigint);
}

/** Computes the unkeyed BLAKE2b digest of `data` with `outputLength` bytes (1 to 64). */
export function blake2b(data: Uint8Array, outputLength: number): Buffer {
  if (!Number.isInteger(outputLength) || outputLength < 1 || outputLength > 64) {
    throw new RangeError(`BLAKE2b output length must be 1 to 64 bytes, got ${outputLength}`);
  }
  const h = [...IV];
  // Parameter block: digest length, no key, fanout 1, depth 1.
  h[0] = (h[0] as bigint) ^ 0x01010000n ^ BigInt(outputLength);

  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const blockCount = Math.max(1, Math.ceil(input.length / BLOCK_BYTES));
  for (let index = 0; index < blockCount; index += 1) {
    const start = index * BLOCK_BYTES;
    const block = Buffer.alloc(BLOCK_BYTES);
    input.copy(block, 0, start, Math.min(start + BLOCK_BYTES, input.length));
    const last = index === blockCount - 1;
    const counter = BigInt(last ? input.length : start + BLOCK_BYTES);
    compress(h, block, counter, last);
  }

  const digest = Buffer.alloc(64);
  h.forEach((word, i) => digest.writeBigUInt64LE(word, i * 8));
  return digest.subarray(0, outputLength);
}
