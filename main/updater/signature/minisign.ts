/**
 * minisign's public key and signature formats (https://jedisct1.github.io/minisign/).
 *
 * Public key file: `untrusted comment: <text>` then base64 of
 * `"Ed" | key number (8 bytes) | ed25519 public key (32 bytes)`.
 *
 * Signature file (`<file>.minisig`), four lines:
 *   untrusted comment: <text, not signed>
 *   base64 of `"ED" or "Ed" | key number (8 bytes) | ed25519 signature (64 bytes)`
 *   trusted comment: <text>
 *   base64 of the global signature (64 bytes) over `signature | trusted comment text`
 *
 * "ED" signs the BLAKE2b-512 digest of the file (prehashed, minisign's
 * default since 0.10); "Ed" signs the file itself (the legacy format).
 */
import { UpdateError } from '../errors';

export const UNTRUSTED_COMMENT_PREFIX = 'untrusted comment: ';
export const TRUSTED_COMMENT_PREFIX = 'trusted comment: ';

/** Suffix of a signature file next to the file it signs. */
export const SIGNATURE_SUFFIX = '.minisig';

const KEY_ALGORITHM = 'Ed';
const PREHASHED_ALGORITHM = 'ED';
const KEY_NUMBER_BYTES = 8;
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
/** Longest trusted comment that minisign reads (its TRUSTEDCOMMENTMAXBYTES, prefix included). */
const MAX_TRUSTED_COMMENT_BYTES = 8192 - TRUSTED_COMMENT_PREFIX.length;

/** A minisign public key. */
export interface MinisignPublicKey {
  /** Key id as minisign prints it: the key number read as a little-endian integer, 16 uppercase hex digits. */
  keyId: string;
  /** Key number as stored in the files (8 bytes). */
  keyNumber: Buffer;
  /** Raw ed25519 public key (32 bytes). */
  publicKey: Buffer;
}

/** `prehashed` signs the BLAKE2b-512 digest of the file ("ED"); `legacy` signs the file itself ("Ed"). */
export type SignatureAlgorithm = 'prehashed' | 'legacy';

/** The content of a `.minisig` file. */
export interface MinisignSignature {
  algorithm: SignatureAlgorithm;
  keyId: string;
  keyNumber: Buffer;
  /** ed25519 signature of the file or of its BLAKE2b-512 digest (64 bytes). */
  signature: Buffer;
  /** Free text that anyone can change; never trusted. */
  untrustedComment: string;
  /** Text covered by the global signature. */
  trustedComment: string;
  /** ed25519 signature of `signature | trustedComment` (64 bytes). */
  globalSignature: Buffer;
}

/** Formats a key number the way minisign prints key ids. */
export function keyIdOf(keyNumber: Buffer): string {
  return keyNumber.readBigUInt64LE(0).toString(16).toUpperCase().padStart(16, '0');
}

/** Decodes strict base64: canonical padding and no stray characters, as libsodium's decoder expects. */
export function decodeBase64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function keyError(source: string, problem: string): UpdateError {
  return new UpdateError('INVALID_INPUT', `Invalid minisign public key ${source}: ${problem}. Use the .pub file that "minisign -G" or "backend-updater release keygen" wrote, or its second line.`, {
    details: { source },
  });
}

/**
 * Parses a public key: a whole `.pub` file (comment line and key line) or
 * the base64 key line alone. `source` names the file or setting in messages.
 * Throws INVALID_INPUT for anything else.
 */
export function parsePublicKey(text: string, source = 'public key'): MinisignPublicKey {
  const lines = splitLines(text.trim());
  let keyLine: string | undefined;
  if (lines.length === 1) keyLine = lines[0];
  else if (lines.length === 2 && lines[0]?.startsWith(UNTRUSTED_COMMENT_PREFIX)) keyLine = lines[1];
  if (keyLine === undefined) throw keyError(source, 'expected an "untrusted comment:" line and a base64 key line');

  const bytes = decodeBase64(keyLine.trim());
  if (bytes === null) throw keyError(source, 'the key line is not valid base64');
  if (bytes.length !== 2 + KEY_NUMBER_BYTES + PUBLIC_KEY_BYTES) throw keyError(source, `the key has ${bytes.length} bytes instead of 42`);
  if (bytes.subarray(0, 2).toString('latin1') !== KEY_ALGORITHM) throw keyError(source, 'the key algorithm is not "Ed" (ed25519)');

  const keyNumber = Buffer.from(bytes.subarray(2, 2 + KEY_NUMBER_BYTES));
  return { keyId: keyIdOf(keyNumber), keyNumber, publicKey: Buffer.from(bytes.subarray(2 + KEY_NUMBER_BYTES)) };
}

/** Formats a public key as a minisign `.pub` file. */
export function formatPublicKey(key: MinisignPublicKey): string {
  const bytes = Buffer.concat([Buffer.from(KEY_ALGORITHM, 'latin1'), key.keyNumber, key.publicKey]);
  return `${UNTRUSTED_COMMENT_PREFIX}minisign public key ${key.keyId}\n${bytes.toString('base64')}\n`;
}

function signatureError(source: string, problem: string): UpdateError {
  return new UpdateError('SIGNATURE_INVALID', `Signature file ${source} is malformed: ${problem}. Ask the publisher to sign the release again with minisign or "backend-updater release sign".`, {
    retryable: false,
    details: { file: source },
  });
}

function decodeSignatureLine(line: string, source: string): Pick<MinisignSignature, 'algorithm' | 'keyId' | 'keyNumber' | 'signature'> {
  const bytes = decodeBase64(line.trim());
  if (bytes === null || bytes.length !== 2 + KEY_NUMBER_BYTES + SIGNATURE_BYTES) {
    throw signatureError(source, 'line 2 is not the base64 of a 74-byte signature');
  }
  const tag = bytes.subarray(0, 2).toString('latin1');
  if (tag !== PREHASHED_ALGORITHM && tag !== KEY_ALGORITHM) throw signatureError(source, `unsupported signature algorithm "${tag}"`);
  const keyNumber = Buffer.from(bytes.subarray(2, 2 + KEY_NUMBER_BYTES));
  return {
    algorithm: tag === PREHASHED_ALGORITHM ? 'prehashed' : 'legacy',
    keyId: keyIdOf(keyNumber),
    keyNumber,
    signature: Buffer.from(bytes.subarray(2 + KEY_NUMBER_BYTES)),
  };
}

/**
 * Parses the text of a `.minisig` file. `source` names it in messages.
 * Throws SIGNATURE_INVALID when the text does not have minisign's four lines.
 */
export function parseSignature(text: string, source = 'signature'): MinisignSignature {
  const lines = splitLines(text);
  if (lines.length !== 4) throw signatureError(source, `expected 4 lines, found ${lines.length}`);
  const [untrusted, signatureLine, trusted, globalLine] = lines as [string, string, string, string];
  if (!untrusted.startsWith(UNTRUSTED_COMMENT_PREFIX)) throw signatureError(source, `line 1 does not start with "${UNTRUSTED_COMMENT_PREFIX}"`);
  if (!trusted.startsWith(TRUSTED_COMMENT_PREFIX)) throw signatureError(source, `line 3 does not start with "${TRUSTED_COMMENT_PREFIX}"`);

  const trustedComment = trusted.slice(TRUSTED_COMMENT_PREFIX.length);
  if (Buffer.byteLength(trustedComment) > MAX_TRUSTED_COMMENT_BYTES) throw signatureError(source, 'the trusted comment is longer than minisign allows');
  const globalSignature = decodeBase64(globalLine.trim());
  if (globalSignature === null || globalSignature.length !== SIGNATURE_BYTES) {
    throw signatureError(source, 'line 4 is not the base64 of a 64-byte global signature');
  }
  return {
    ...decodeSignatureLine(signatureLine, source),
    untrustedComment: untrusted.slice(UNTRUSTED_COMMENT_PREFIX.length),
    trustedComment,
    globalSignature,
  };
}

/** Formats a signature as the text of a `.minisig` file. */
export function formatSignature(signature: MinisignSignature): string {
  const tag = signature.algorithm === 'prehashed' ? PREHASHED_ALGORITHM : KEY_ALGORITHM;
  const signatureLine = Buffer.concat([Buffer.from(tag, 'latin1'), signature.keyNumber, signature.signature]).toString('base64');
  return [
    `${UNTRUSTED_COMMENT_PREFIX}${signature.untrustedComment}`,
    signatureLine,
    `${TRUSTED_COMMENT_PREFIX}${signature.trustedComment}`,
    signature.globalSignature.toString('base64'),
    '',
  ].join('\n');
}

/** Checks that a comment fits on one line, as both comment lines must. */
export function assertOneLineComment(comment: string, label: string): void {
  if (/[\r\n]/.test(comment)) {
    throw new UpdateError('INVALID_INPUT', `The ${label} must be one line; remove the line break from "${comment.slice(0, 80)}".`);
  }
  if (label === 'trusted comment' && Buffer.byteLength(comment) > MAX_TRUSTED_COMMENT_BYTES) {
    throw new UpdateError('INVALID_INPUT', `The trusted comment has ${Buffer.byteLength(comment)} bytes; minisign reads at most ${MAX_TRUSTED_COMMENT_BYTES}.`);
  }
}
