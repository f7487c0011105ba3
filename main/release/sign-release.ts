import fs from 'node:fs/promises';
import path from 'node:path';
import { UpdateError } from '../updater/errors';
import { formatSignature, SIGNATURE_SUFFIX } from '../updater/signature/minisign';
import { formatReleaseManifest, RELEASE_MANIFEST_NAME, type ReleaseManifest, type ReleaseManifestAsset } from '../updater/signature/release-manifest';
import type { MinisignSecretKey } from '../updater/signature/secret-key';
import { signBuffer, signFile, type SignOptions } from '../updater/signature/sign';
import { sha256File } from '../updater/verify';
import { listReleaseFiles } from './checksums';
import { parseArchiveName } from './naming';

/** Options of `signRelease`. */
export interface SignReleaseOptions {
  /** Release folder with the archives; signatures and the manifest are written into it. */
  dir: string;
  secretKey: MinisignSecretKey;
  /** @default 'python-backend' */
  product?: string;
  /** Version the archives must carry; taken from their names when absent. */
  version?: string;
  /** Passed to every signature; a custom trusted comment applies to all files. */
  signOptions?: SignOptions;
}

/** Files written by `signRelease`. */
export interface SignedReleaseFiles {
  manifest: ReleaseManifest;
  manifestFile: string;
  /** Every `.minisig` file written, the manifest's included. */
  signatureFiles: string[];
  keyId: string;
}

/** Returns the version every archive shares, or throws INVALID_INPUT naming the one that differs. */
function releaseVersion(archives: { name: string; version: string }[], expected: string | undefined, dir: string): string {
  const version = expected ?? archives[0]?.version;
  if (version === undefined) {
    throw new UpdateError('INVALID_INPUT', `Release folder ${dir} has no archive named python-backend-<version>-<platform>-<arch>.zip or .tar.gz. Run "backend-updater release pack" first.`);
  }
  const other = archives.find((archive) => archive.version !== version);
  if (other) {
    throw new UpdateError('INVALID_INPUT', `${other.name} is version ${other.version}, but the release is ${version}. Keep one version per release folder.`);
  }
  return version;
}

async function writeSignature(file: string, text: string): Promise<string> {
  const signatureFile = `${file}${SIGNATURE_SUFFIX}`;
  await fs.writeFile(signatureFile, text);
  return signatureFile;
}

/**
 * Signs a release folder: writes `<archive>.minisig` next to every archive,
 * then the release manifest `python-backend-release.json` listing each
 * archive's name, platform, arch, size and SHA-256, and its signature. The
 * signatures use minisign's prehashed format unless `signOptions` chooses legacy.
 */
export async function signRelease(options: SignReleaseOptions): Promise<SignedReleaseFiles> {
  const dir = path.resolve(options.dir);
  const archives = (await listReleaseFiles(dir)).flatMap((name) => {
    const parsed = parseArchiveName(name);
    return parsed ? [{ name, ...parsed }] : [];
  });
  const version = releaseVersion(archives, options.version, dir);

  const signatureFiles: string[] = [];
  const assets: ReleaseManifestAsset[] = [];
  for (const archive of archives) {
    const file = path.join(dir, archive.name);
    const { size } = await fs.stat(file);
    assets.push({ name: archive.name, platform: archive.platform, arch: archive.arch, size, sha256: await sha256File(file) });
    const signature = await signFile(file, options.secretKey, options.signOptions);
    signatureFiles.push(await writeSignature(file, formatSignature(signature)));
  }

  const manifest: ReleaseManifest = { schema: 1, product: options.product ?? 'python-backend', version, assets };
  const manifestText = formatReleaseManifest(manifest);
  const manifestFile = path.join(dir, RELEASE_MANIFEST_NAME);
  await fs.writeFile(manifestFile, manifestText);
  const manifestSignature = signBuffer(Buffer.from(manifestText), RELEASE_MANIFEST_NAME, options.secretKey, options.signOptions);
  signatureFiles.push(await writeSignature(manifestFile, formatSignature(manifestSignature)));
  return { manifest, manifestFile, signatureFiles, keyId: options.secretKey.keyId };
}
