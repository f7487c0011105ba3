import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CancelledError, UpdateError } from '../errors';
import { verifyEd25519 } from './ed25519';
import type { MinisignPublicKey, MinisignSignature, SignatureAlgorithm } from './minisign';

/** Largest file verified against a legacy signature, which needs the whole file in memory (minisign's own limit). */
export const MAX_LEGACY_SIGNED_BYTES = 1024 ** 3;

/** A signature that verified against one of the trusted keys. */
export interface VerifiedSignature {
  /** Id of the trusted key that made the signature. */
  keyId: string;
  trustedComment: string;
  algorithm: SignatureAlgorithm;
}

/** Computes the BLAKE2b-512 digest of a file as a stream, which is what a prehashed signature signs. */
export async function blake2b512File(file: string, signal?: AbortSignal): Promise<Buffer> {
  const hash = createHash('blake2b512');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback();
    },
  });
  try {
    await pipeline(createReadStream(file), sink, { signal });
  } catch (error) {
    if (signal?.aborted) throw new CancelledError();
    throw error;
  }
  return hash.digest();
}

function invalid(label: string, message: string, details: Record<string, string>): UpdateError {
  return new UpdateError('SIGNATURE_INVALID', message, { retryable: false, details: { file: label, ...details } });
}

/**
 * Checks `signature` against the trusted keys, given the bytes it signs: the
 * file itself for a legacy signature, its BLAKE2b-512 digest for a prehashed
 * one. Throws SIGNATURE_INVALID naming the key id when no trusted key has that
 * id, when the signature does not match, or when the trusted comment was changed.
 */
export function checkSignature(signed: Buffer, signature: MinisignSignature, keys: readonly MinisignPublicKey[], label: string): VerifiedSignature {
  const trusted = keys.map((key) => key.keyId).join(', ') || 'none';
  const candidates = keys.filter((key) => key.keyNumber.equals(signature.keyNumber));
  if (candidates.length === 0) {
    throw invalid(label, `${label} is signed by key ${signature.keyId}, which is not a trusted key (trusted: ${trusted}). Add the publisher's public key to publicKeys only if you trust it.`, {
      keyId: signature.keyId,
      trustedKeys: trusted,
    });
  }

  const key = candidates.find((candidate) => verifyEd25519(signed, signature.signature, candidate.publicKey));
  if (!key) {
    throw invalid(label, `Signature of ${label} does not match: the file was changed after signing, or it was signed by another key that claims id ${signature.keyId}. Do not install it; download the release again from its publisher.`, {
      keyId: signature.keyId,
    });
  }

  const commented = Buffer.concat([signature.signature, Buffer.from(signature.trustedComment, 'utf8')]);
  if (!verifyEd25519(commented, signature.globalSignature, key.publicKey)) {
    throw invalid(label, `The trusted comment or global signature of ${label} was changed after signing ("${signature.trustedComment.slice(0, 120)}"). Do not install it; ask the publisher for a correctly signed release.`, {
      keyId: signature.keyId,
    });
  }
  return { keyId: key.keyId, trustedComment: signature.trustedComment, algorithm: signature.algorithm };
}

/** Verifies a signature of bytes held in memory; see `checkSignature`. */
export function verifySignedBuffer(data: Buffer, signature: MinisignSignature, keys: readonly MinisignPublicKey[], label: string): VerifiedSignature {
  const signed = signature.algorithm === 'prehashed' ? createHash('blake2b512').update(data).digest() : data;
  return checkSignature(signed, signature, keys, label);
}

/**
 * Verifies a signature of a file. A prehashed signature streams the file; a
 * legacy one reads it into memory and is rejected above 1 GiB, as minisign does.
 */
export async function verifySignedFile(
  file: string,
  signature: MinisignSignature,
  keys: readonly MinisignPublicKey[],
  label: string,
  signal?: AbortSignal,
): Promise<VerifiedSignature> {
  if (signature.algorithm === 'prehashed') return checkSignature(await blake2b512File(file, signal), signature, keys, label);

  const { size } = await stat(file);
  if (size > MAX_LEGACY_SIGNED_BYTES) {
    throw invalid(label, `${label} has a legacy (not prehashed) signature and ${size} bytes; legacy signatures are accepted up to 1 GiB. Ask the publisher to sign it with a current minisign.`, {
      keyId: signature.keyId,
    });
  }
  return checkSignature(await readFile(file), signature, keys, label);
}
