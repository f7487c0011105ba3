/**
 * minisign's secret key file: `untrusted comment: <text>` then base64 of
 *
 *   "Ed" | KDF ("Sc" = scrypt, or two zero bytes = not encrypted) | "B2"
 *   | salt (32) | opslimit (8, LE) | memlimit (8, LE)
 *   | key number (8) | ed25519 secret key: seed and public key (64) | checksum (32)
 *
 * The last 104 bytes are XORed with a scrypt stream derived from the password.
 * The checksum is BLAKE2b-256 of `"Ed" | key number | secret key`, which is
 * how a wrong password is recognized. opslimit and memlimit are libsodium's
 * `crypto_pwhash_scryptsalsa208sha256` limits, turned into scrypt's N, r and p
 * the way libsodium does.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { UpdateError } from '../errors';
import { blake2b } from './blake2b';
import { generateRawKeyPair, publicKeyFromSeed } from './ed25519';
import { decodeBase64, keyIdOf, UNTRUSTED_COMMENT_PREFIX, type MinisignPublicKey } from './minisign';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, length: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

const SCRYPT_KDF = 'Sc';
const NO_KDF = '\0\0';
const SALT_BYTES = 32;
const KEY_NUMBER_BYTES = 8;
/** key number, secret key, checksum: the part that the password encrypts. */
const PROTECTED_BYTES = 8 + 64 + 32;
const FILE_BYTES = 6 + SALT_BYTES + 16 + PROTECTED_BYTES;

/** libsodium's scrypt cost limits; the file stores them, and N, r and p follow from them. */
export interface ScryptLimits {
  opsLimit: number;
  memLimit: number;
}

/** The limits that `minisign -G` uses (libsodium's "sensitive" level): scrypt N = 2^20, r = 8, p = 1, 1 GiB of memory. */
export const MINISIGN_SCRYPT_LIMITS: ScryptLimits = { opsLimit: 33_554_432, memLimit: 1_073_741_824 };

/** A decrypted minisign secret key. */
export interface MinisignSecretKey extends MinisignPublicKey {
  /** ed25519 seed (32 bytes); the rest of minisign's 64-byte secret key is the public key. */
  seed: Buffer;
}

/** Generates a new key pair with a random key number. */
export function generateSecretKey(): MinisignSecretKey {
  const { seed, publicKey } = generateRawKeyPair();
  const keyNumber = randomBytes(KEY_NUMBER_BYTES);
  return { keyId: keyIdOf(keyNumber), keyNumber, publicKey, seed };
}

/** Returns the public half of a secret key. */
export function publicKeyOf(secret: MinisignSecretKey): MinisignPublicKey {
  return { keyId: secret.keyId, keyNumber: secret.keyNumber, publicKey: secret.publicKey };
}

/** Turns libsodium limits into scrypt parameters, as libsodium's `pickparams` does. */
export function scryptParameters(limits: ScryptLimits): { N: number; r: number; p: number } {
  const opsLimit = Math.max(limits.opsLimit, 32_768);
  const r = 8;
  const grow = (maxN: number): number => {
    let log2 = 1;
    while (log2 < 63 && 2 ** log2 <= maxN / 2) log2 += 1;
    return log2;
  };
  if (opsLimit < limits.memLimit / 32) {
    return { N: 2 ** grow(Math.floor(opsLimit / (r * 4))), r, p: 1 };
  }
  const log2 = grow(Math.floor(limits.memLimit / (r * 128)));
  const maxRp = Math.min(Math.floor(opsLimit / 4 / 2 ** log2), 0x3fffffff);
  return { N: 2 ** log2, r, p: Math.floor(maxRp / r) };
}

async function keyStream(password: string, salt: Buffer, limits: ScryptLimits, source: string): Promise<Buffer> {
  const { N, r, p } = scryptParameters(limits);
  // 2^22 bounds the memory at 4 GiB, four times what minisign -G uses.
  if (p < 1 || N > 2 ** 22) {
    throw new UpdateError('INVALID_INPUT', `Secret key ${source} requires scrypt parameters outside the supported range (N=${N}, r=${r}, p=${p}; N at most 2^22 and p at least 1). Re-create the key with minisign -G or backend-updater release keygen.`);
  }
  // OpenSSL needs 128·r·(N+2) bytes for scrypt's table plus 128·r·p for its blocks.
  const maxmem = 128 * r * (N + 2) + 128 * r * p + 1024 * 1024;
  return scryptAsync(password, salt, PROTECTED_BYTES, { N, r, p, maxmem });
}

function checksumOf(keyNumber: Buffer, secretKey: Buffer): Buffer {
  return blake2b(Buffer.concat([Buffer.from('Ed', 'latin1'), keyNumber, secretKey]), 32);
}

function xorInto(target: Buffer, stream: Buffer): void {
  for (let i = 0; i < target.length; i += 1) target[i] = (target[i] as number) ^ (stream[i] as number);
}

/**
 * Writes a secret key in minisign's format. With a password the key is
 * encrypted with scrypt at `limits` (default: minisign's own); with null it
 * is stored unencrypted, as `minisign -G -W` does.
 */
export async function encodeSecretKey(secret: MinisignSecretKey, options: { password: string | null; limits?: ScryptLimits }): Promise<string> {
  const encrypted = options.password !== null;
  const limits = encrypted ? (options.limits ?? MINISIGN_SCRYPT_LIMITS) : { opsLimit: 0, memLimit: 0 };
  const salt = encrypted ? randomBytes(SALT_BYTES) : Buffer.alloc(SALT_BYTES);
  const secretKey = Buffer.concat([secret.seed, secret.publicKey]);
  const protectedPart = Buffer.concat([secret.keyNumber, secretKey, checksumOf(secret.keyNumber, secretKey)]);
  if (options.password !== null) xorInto(protectedPart, await keyStream(options.password, salt, limits, 'being written'));

  const limitBytes = Buffer.alloc(16);
  limitBytes.writeBigUInt64LE(BigInt(limits.opsLimit), 0);
  limitBytes.writeBigUInt64LE(BigInt(limits.memLimit), 8);
  const header = Buffer.from(`Ed${encrypted ? SCRYPT_KDF : NO_KDF}B2`, 'latin1');
  const bytes = Buffer.concat([header, salt, limitBytes, protectedPart]);
  const comment = encrypted ? 'minisign encrypted secret key' : 'minisign unencrypted secret key';
  return `${UNTRUSTED_COMMENT_PREFIX}${comment}\n${bytes.toString('base64')}\n`;
}

function secretKeyError(source: string, problem: string): UpdateError {
  return new UpdateError('INVALID_INPUT', `Invalid minisign secret key ${source}: ${problem}.`, { details: { file: source } });
}

function decodeSecretKeyBytes(text: string, source: string): Buffer {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  if (lines.length !== 2 || !lines[0]?.startsWith(UNTRUSTED_COMMENT_PREFIX)) {
    throw secretKeyError(source, 'expected an "untrusted comment:" line and a base64 key line');
  }
  const bytes = decodeBase64(lines[1] ?? '');
  if (bytes === null || bytes.length !== FILE_BYTES) throw secretKeyError(source, `the key line is not the base64 of ${FILE_BYTES} bytes`);
  if (bytes.subarray(0, 2).toString('latin1') !== 'Ed') throw secretKeyError(source, 'the signature algorithm is not "Ed"');
  if (bytes.subarray(4, 6).toString('latin1') !== 'B2') throw secretKeyError(source, 'the checksum algorithm is not "B2"');
  const kdf = bytes.subarray(2, 4).toString('latin1');
  if (kdf !== SCRYPT_KDF && kdf !== NO_KDF) throw secretKeyError(source, `unsupported key derivation "${kdf}"`);
  return bytes;
}

/** Returns true when the secret key file is encrypted with a password. */
export function isEncryptedSecretKey(text: string, source = 'secret key'): boolean {
  return decodeSecretKeyBytes(text, source).subarray(2, 4).toString('latin1') === SCRYPT_KDF;
}

/**
 * Reads a minisign secret key file, decrypting it with `password` when it is
 * encrypted. Throws INVALID_INPUT for a malformed file, a missing or wrong
 * password, or a secret key whose two halves do not belong together.
 */
export async function decodeSecretKey(text: string, password: string | null, source = 'secret key'): Promise<MinisignSecretKey> {
  const bytes = decodeSecretKeyBytes(text, source);
  const encrypted = bytes.subarray(2, 4).toString('latin1') === SCRYPT_KDF;
  const protectedPart = Buffer.from(bytes.subarray(6 + SALT_BYTES + 16));
  if (encrypted) {
    if (password === null) throw secretKeyError(source, 'it is encrypted and no password was given');
    const limits = { opsLimit: Number(bytes.readBigUInt64LE(6 + SALT_BYTES)), memLimit: Number(bytes.readBigUInt64LE(6 + SALT_BYTES + 8)) };
    xorInto(protectedPart, await keyStream(password, bytes.subarray(6, 6 + SALT_BYTES), limits, source));
  }

  const keyNumber = protectedPart.subarray(0, KEY_NUMBER_BYTES);
  const secretKey = protectedPart.subarray(KEY_NUMBER_BYTES, KEY_NUMBER_BYTES + 64);
  const checksum = protectedPart.subarray(KEY_NUMBER_BYTES + 64);
  // minisign 0.11 writes an all-zero checksum into unencrypted keys (`-G -W`) and does not check it there.
  const checksumUnset = !encrypted && checksum.every((byte) => byte === 0);
  if (!checksumUnset && !timingSafeEqual(checksum, checksumOf(keyNumber, secretKey))) {
    throw secretKeyError(source, encrypted ? 'wrong password' : 'its checksum does not match');
  }
  const seed = Buffer.from(secretKey.subarray(0, 32));
  const publicKey = Buffer.from(secretKey.subarray(32));
  if (!publicKeyFromSeed(seed).equals(publicKey)) throw secretKeyError(source, 'its public half does not belong to its secret half');
  return { keyId: keyIdOf(keyNumber), keyNumber: Buffer.from(keyNumber), publicKey, seed };
}
