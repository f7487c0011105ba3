import { blake2b as nobleBlake2b } from '@noble/hashes/blake2.js';

/**
 * Computes the unkeyed BLAKE2b digest of `data` with `outputLength` bytes (1 to 64).
 * Node's crypto offers only the 64-byte `blake2b512`, and a minisign secret
 * key's checksum is a 32-byte BLAKE2b, so this uses @noble/hashes.
 */
export function blake2b(data: Uint8Array, outputLength: number): Buffer {
  return Buffer.from(nobleBlake2b(data, { dkLen: outputLength }));
}
