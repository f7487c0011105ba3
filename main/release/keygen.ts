import fs from 'node:fs/promises';
import path from 'node:path';
import { UpdateError } from '../updater/errors';
import { formatPublicKey } from '../updater/signature/minisign';
import { encodeSecretKey, generateSecretKey, publicKeyOf, type ScryptLimits } from '../updater/signature/secret-key';

/** Options of `writeKeyPair`. */
export interface KeygenOptions {
  publicKeyFile: string;
  secretKeyFile: string;
  /** Password that encrypts the secret key; null writes it unencrypted (for CI secrets stores). */
  password: string | null;
  /** Replace existing key files. @default false */
  force?: boolean;
  /** scrypt cost of the encryption. @default minisign's own (1 GiB, N = 2^20) */
  limits?: ScryptLimits;
}

async function writeNew(file: string, text: string, mode: number, force: boolean): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  try {
    await fs.writeFile(file, text, { mode, flag: force ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new UpdateError('INVALID_INPUT', `${file} already exists. Pass --force to replace it; releases signed by the old key then no longer verify with the new public key.`, {
      details: { file },
    });
  }
  // The mode given to writeFile is reduced by the umask and ignored for an existing file.
  await fs.chmod(file, mode);
}

/**
 * Generates a key pair and writes it in minisign's formats: the public key
 * file (mode 0644) that apps list in publicKeys, and the secret key file
 * (mode 0600), encrypted with `password` unless it is null. Both files work
 * with the minisign tool too. Returns the new key id.
 */
export async function writeKeyPair(options: KeygenOptions): Promise<{ keyId: string; publicKeyFile: string; secretKeyFile: string }> {
  const publicKeyFile = path.resolve(options.publicKeyFile);
  const secretKeyFile = path.resolve(options.secretKeyFile);
  if (publicKeyFile === secretKeyFile) throw new UpdateError('INVALID_INPUT', `The public and secret key files are the same path ${publicKeyFile}; give two different files.`);
  if (options.password === '') throw new UpdateError('INVALID_INPUT', 'The password is empty. Give a password, or pass --unencrypted to store the secret key without one.');

  const force = options.force ?? false;
  for (const file of force ? [] : [secretKeyFile, publicKeyFile]) {
    if (await fs.stat(file).then(() => true, () => false)) {
      throw new UpdateError('INVALID_INPUT', `${file} already exists. Pass --force to replace it; releases signed by the old key then no longer verify with the new public key.`, { details: { file } });
    }
  }

  const secret = generateSecretKey();
  const secretText = await encodeSecretKey(secret, { password: options.password, limits: options.limits });
  await writeNew(secretKeyFile, secretText, 0o600, force);
  await writeNew(publicKeyFile, formatPublicKey(publicKeyOf(secret)), 0o644, force);
  return { keyId: secret.keyId, publicKeyFile, secretKeyFile };
}
