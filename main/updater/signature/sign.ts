import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UpdateError } from '../errors';
import { signEd25519 } from './ed25519';
import { assertOneLineComment, type MinisignSignature, type SignatureAlgorithm } from './minisign';
import type { MinisignSecretKey } from './secret-key';
import { blake2b512File, MAX_LEGACY_SIGNED_BYTES } from './verify-signature';

/** Options of `signFile` and `signBuffer`. */
export interface SignOptions {
  /** Signed one-line text. @default minisign's own: `timestamp:<unix seconds>\tfile:<name>` plus `\thashed` when prehashed */
  trustedComment?: string;
  /** Unsigned one-line text. @default 'signature from backend-updater secret key' */
  untrustedComment?: string;
  /** @default 'prehashed', as minisign 0.10 and later sign */
  algorithm?: SignatureAlgorithm;
  /** Time written into the default trusted comment. @default now */
  now?: Date;
}

/** Builds the trusted comment that minisign writes when none is given. */
export function defaultTrustedComment(fileName: string, algorithm: SignatureAlgorithm, now = new Date()): string {
  const timestamp = Math.floor(now.getTime() / 1000);
  return `timestamp:${timestamp}\tfile:${fileName}${algorithm === 'prehashed' ? '\thashed' : ''}`;
}

/** Signs the bytes a signature covers (the data, or its BLAKE2b-512 digest when prehashed). */
function signCovered(covered: Buffer, fileName: string, secret: MinisignSecretKey, options: SignOptions): MinisignSignature {
  const algorithm = options.algorithm ?? 'prehashed';
  const trustedComment = options.trustedComment ?? defaultTrustedComment(fileName, algorithm, options.now);
  const untrustedComment = options.untrustedComment ?? 'signature from backend-updater secret key';
  assertOneLineComment(trustedComment, 'trusted comment');
  assertOneLineComment(untrustedComment, 'untrusted comment');

  const signature = signEd25519(covered, secret.seed);
  const globalSignature = signEd25519(Buffer.concat([signature, Buffer.from(trustedComment, 'utf8')]), secret.seed);
  return { algorithm, keyId: secret.keyId, keyNumber: secret.keyNumber, signature, untrustedComment, trustedComment, globalSignature };
}

/** Signs bytes held in memory; `fileName` goes into the default trusted comment. */
export function signBuffer(data: Buffer, fileName: string, secret: MinisignSecretKey, options: SignOptions = {}): MinisignSignature {
  const covered = (options.algorithm ?? 'prehashed') === 'prehashed' ? createHash('blake2b512').update(data).digest() : data;
  return signCovered(covered, fileName, secret, options);
}

/** Signs a file; a prehashed signature streams it, a legacy one reads it whole (at most 1 GiB). */
export async function signFile(file: string, secret: MinisignSecretKey, options: SignOptions = {}): Promise<MinisignSignature> {
  const fileName = path.basename(file);
  if ((options.algorithm ?? 'prehashed') === 'prehashed') return signCovered(await blake2b512File(file), fileName, secret, options);

  const { size } = await stat(file);
  if (size > MAX_LEGACY_SIGNED_BYTES) {
    throw new UpdateError('INVALID_INPUT', `${file} has ${size} bytes; a legacy signature covers at most 1 GiB. Sign it prehashed instead.`);
  }
  return signCovered(await readFile(file), fileName, secret, options);
}
