import fs from 'node:fs/promises';
import path from 'node:path';
import { listReleaseFiles, writeChecksums } from '../release/checksums';
import { packSampleBackend, type PackSampleOptions } from '../release/pack-sample';
import { signRelease } from '../release/sign-release';
import { formatPublicKey } from '../updater/signature/minisign';
import { generateSecretKey, publicKeyOf, type MinisignSecretKey } from '../updater/signature/secret-key';

/** A throwaway key pair for one demo run; the public key file goes into the updater's publicKeys. */
export interface DemoKey {
  secretKey: MinisignSecretKey;
  keyId: string;
  publicKeyFile: string;
}

/** Generates a key pair that exists only for this run and writes its public key file into `dir`. */
export async function createDemoKey(dir: string): Promise<DemoKey> {
  const secretKey = generateSecretKey();
  await fs.mkdir(dir, { recursive: true });
  const publicKeyFile = path.join(dir, 'demo-release-key.pub');
  await fs.writeFile(publicKeyFile, formatPublicKey(publicKeyOf(secretKey)));
  return { secretKey, keyId: secretKey.keyId, publicKeyFile };
}

/**
 * Packs the sample backend into `outDir` and signs it like a publisher does:
 * archives, their `.minisig` files, the signed release manifest and
 * SHA256SUMS. Returns the absolute paths of every release file.
 */
export async function packSignedRelease(options: PackSampleOptions, key: DemoKey): Promise<string[]> {
  await packSampleBackend(options);
  await signRelease({ dir: options.outDir, secretKey: key.secretKey, version: options.version });
  await writeChecksums(options.outDir);
  return (await listReleaseFiles(options.outDir)).map((name) => path.join(options.outDir, name));
}

/**
 * Copies a signed release into `outDir` and flips one bit in the middle of
 * every archive, as a compromised mirror would. SHA256SUMS is rewritten to
 * match the altered bytes, so only the signatures can tell.
 */
export async function tamperedCopy(files: string[], outDir: string): Promise<string[]> {
  await fs.mkdir(outDir, { recursive: true });
  for (const file of files) {
    const target = path.join(outDir, path.basename(file));
    const bytes = await fs.readFile(file);
    if (/\.(zip|tar\.gz)$/.test(file)) {
      const middle = Math.floor(bytes.length / 2);
      bytes[middle] = (bytes[middle] as number) ^ 0x01;
    }
    await fs.writeFile(target, bytes);
  }
  await writeChecksums(outDir);
  return (await listReleaseFiles(outDir)).map((name) => path.join(outDir, name));
}
