import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Raw ed25519 keys as minisign stores them, turned into Node KeyObjects.
 * Public keys go through JWK. A private key is imported from its seed alone
 * as PKCS#8 DER, whose fixed 16-byte header (RFC 8410) precedes the seed.
 */

const PKCS8_ED25519_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Builds a public KeyObject from a raw 32-byte ed25519 public key. */
export function publicKeyObject(rawPublicKey: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: rawPublicKey.toString('base64url') }, format: 'jwk' });
}

/** Builds a private KeyObject from a 32-byte seed. */
export function privateKeyObject(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_SEED_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Derives the raw 32-byte public key from a 32-byte seed. */
export function publicKeyFromSeed(seed: Buffer): Buffer {
  const jwk = createPublicKey(privateKeyObject(seed)).export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/** Generates a new ed25519 key pair as a raw seed and public key. */
export function generateRawKeyPair(): { seed: Buffer; publicKey: Buffer } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return { seed: Buffer.from(jwk.d ?? '', 'base64url'), publicKey: Buffer.from(jwk.x ?? '', 'base64url') };
}

/** Signs `message` with ed25519 (pure, no prehash) and returns the 64-byte signature. */
export function signEd25519(message: Buffer, seed: Buffer): Buffer {
  return sign(null, message, privateKeyObject(seed));
}

/** Returns true when `signature` is a valid ed25519 signature of `message` by `rawPublicKey`. */
export function verifyEd25519(message: Buffer, signature: Buffer, rawPublicKey: Buffer): boolean {
  return verify(null, message, publicKeyObject(rawPublicKey), signature);
}
