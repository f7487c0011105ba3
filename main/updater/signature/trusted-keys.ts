import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UpdateError } from '../errors';
import { decodeBase64, parsePublicKey, type MinisignPublicKey } from './minisign';

/** Returns true when an entry of `publicKeys` is a key itself (the base64 line of a `.pub` file) rather than a path. */
export function isInlinePublicKey(entry: string): boolean {
  const bytes = decodeBase64(entry.trim());
  return bytes !== null && bytes.length === 42 && bytes.subarray(0, 2).toString('latin1') === 'Ed';
}

async function readKeyFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new UpdateError('INVALID_INPUT', `Cannot read public key file ${file} (${code}). Fix the path in publicKeys or --public-key.`, {
      details: { file },
      cause: error,
    });
  }
}

/**
 * Loads the trusted keys from `publicKeys` entries: minisign `.pub` files
 * (relative paths resolve against `baseDir`) or inline base64 keys. A key id
 * listed twice counts once. Throws INVALID_INPUT naming the entry that is
 * unreadable or not a minisign public key.
 */
export async function loadTrustedKeys(entries: readonly string[], baseDir: string): Promise<MinisignPublicKey[]> {
  const keys: MinisignPublicKey[] = [];
  for (const entry of entries) {
    let key: MinisignPublicKey;
    if (isInlinePublicKey(entry)) {
      key = parsePublicKey(entry, 'given inline in publicKeys');
    } else {
      const file = path.resolve(baseDir, entry);
      key = parsePublicKey(await readKeyFile(file), file);
    }
    const twin = keys.find((known) => known.keyNumber.equals(key.keyNumber));
    if (twin && !twin.publicKey.equals(key.publicKey)) {
      throw new UpdateError('INVALID_INPUT', `Two different public keys in publicKeys have the same key id ${key.keyId}. Remove the one you do not trust.`);
    }
    if (!twin) keys.push(key);
  }
  return keys;
}
