/**
 * `backend-updater release check` for a folder: lints a release against
 * what the updater accepts, so a publisher finds a bad release before users do.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { selectAsset } from '../updater/assets';
import { UpdateError, type UpdateErrorCode } from '../updater/errors';
import type { Release } from '../updater/feeds/types';
import { parseChecksumFile } from '../updater/checksums';
import { parseSignature, SIGNATURE_SUFFIX, type MinisignPublicKey } from '../updater/signature/minisign';
import { parseReleaseManifest, RELEASE_MANIFEST_NAME, type ReleaseManifest } from '../updater/signature/release-manifest';
import { verifySignedFile } from '../updater/signature/verify-signature';
import { sha256File } from '../updater/verify';
import { listReleaseFiles, SUMS_FILE_NAME } from './checksums';
import { parseArchiveName, type ArchiveName } from './naming';

/** One finding; an `error` makes the updater reject the release (or some platform's update), a `warning` does not. */
export interface LintProblem {
  level: 'error' | 'warning';
  /** The updater's error code for this kind of fault. */
  code: UpdateErrorCode;
  file: string | null;
  message: string;
}

/** Result of a release check. */
export interface LintReport {
  version: string | null;
  archives: string[];
  /** Ids of the keys that made the signatures found. */
  keyIds: string[];
  problems: LintProblem[];
}

/** Options of `lintReleaseFolder`. */
export interface LintOptions {
  /** Keys the signatures must verify against; empty checks their format only. */
  keys: readonly MinisignPublicKey[];
  /** Product the manifest must name. @default 'python-backend' */
  product?: string;
  /** Version of the release's tag, when the release is published. */
  tagVersion?: string | null;
}

interface LintArchive extends ArchiveName {
  name: string;
  size: number;
  sha256: string;
}

interface LintContext {
  dir: string;
  files: string[];
  archives: LintArchive[];
  options: LintOptions;
  report: LintReport;
}

function add(context: LintContext, level: LintProblem['level'], code: UpdateErrorCode, file: string | null, message: string): void {
  context.report.problems.push({ level, code, file, message });
}

async function collectArchives(context: LintContext): Promise<void> {
  for (const name of context.files) {
    const parsed = parseArchiveName(name);
    const lower = name.toLowerCase();
    const looksLikeArchive = /\.(zip|tar\.gz|tgz)$/.test(lower);
    if (parsed === null) {
      if (looksLikeArchive && lower.includes('python-backend')) add(context, 'error', 'NO_MATCHING_ASSET', name, `${name} is not named python-backend-<version>-<platform>-<arch>.<zip|tar.gz> with a strict semantic version and a known platform and arch, so the updater may not pick it.`);
      else if (looksLikeArchive) add(context, 'warning', 'NO_MATCHING_ASSET', name, `${name} does not contain "python-backend", so the updater never installs it.`);
      continue;
    }
    const file = path.join(context.dir, name);
    const { size } = await fs.stat(file);
    context.archives.push({ name, ...parsed, size, sha256: await sha256File(file) });
  }
  if (context.archives.length === 0) add(context, 'error', 'NO_MATCHING_ASSET', null, 'The release has no python-backend archive.');
}

function lintVersions(context: LintContext, manifest: ReleaseManifest | null): void {
  const versions = new Set(context.archives.map((archive) => archive.version));
  if (versions.size > 1) add(context, 'error', 'INVALID_INPUT', null, `The archives carry different versions (${[...versions].join(', ')}); a release has one version.`);
  const version = manifest?.version ?? context.archives[0]?.version ?? null;
  context.report.version = version;
  const tag = context.options.tagVersion;
  if (tag !== undefined && tag !== null && version !== null && tag !== version) {
    add(context, 'error', 'MANIFEST_MISMATCH', null, `The release is tagged ${tag}, but its files are version ${version}; the updater rejects it.`);
  }
}

/** Checks that each platform and arch has one build and that the updater's selection picks it. */
function lintTargets(context: LintContext): void {
  const release: Release = {
    tag: context.report.version ?? 'release',
    name: '',
    notes: '',
    draft: false,
    prerelease: false,
    publishedAt: null,
    assets: context.files.map((name) => ({ name, size: null, url: `file:///${name}`, digest: null })),
  };
  const targets = new Set(context.archives.filter((archive) => archive.platform !== 'any').map((archive) => `${archive.platform}/${archive.arch}`));
  for (const target of targets) {
    const [platform = '', arch = ''] = target.split('/');
    try {
      const chosen = selectAsset(release, { platform: platform as NodeJS.Platform, arch });
      const fit = context.archives.find((archive) => archive.name === chosen.archive.name);
      if (fit?.platform !== platform || fit.arch !== arch) add(context, 'error', 'NO_MATCHING_ASSET', chosen.archive.name, `The updater on ${platform}-${arch} would pick ${chosen.archive.name}, which is not built for it.`);
    } catch (error) {
      const code = error instanceof UpdateError ? error.code : 'INTERNAL';
      add(context, 'error', code, null, `On ${platform}-${arch}: ${(error as Error).message}`);
    }
  }
}

async function lintChecksums(context: LintContext): Promise<void> {
  const hasSums = context.files.includes(SUMS_FILE_NAME);
  const sumsText = hasSums ? await fs.readFile(path.join(context.dir, SUMS_FILE_NAME), 'utf8') : null;
  for (const archive of context.archives) {
    const sidecar = `${archive.name}.sha256`;
    const sources: [string, string][] = [];
    if (sumsText !== null) sources.push([SUMS_FILE_NAME, sumsText]);
    if (context.files.includes(sidecar)) sources.push([sidecar, await fs.readFile(path.join(context.dir, sidecar), 'utf8')]);
    if (sources.length === 0) add(context, 'error', 'CHECKSUM_MISSING', archive.name, `No SHA-256 is published for ${archive.name}; run "backend-updater release checksums".`);
    for (const [source, text] of sources) {
      try {
        const expected = parseChecksumFile(text, archive.name, source === SUMS_FILE_NAME ? 'sums' : 'sidecar', source);
        if (expected !== archive.sha256) add(context, 'error', 'CHECKSUM_MISMATCH', archive.name, `${source} gives ${expected} for ${archive.name}, but the file's SHA-256 is ${archive.sha256}.`);
      } catch (error) {
        add(context, 'error', error instanceof UpdateError ? error.code : 'CHECKSUM_FORMAT', source, (error as Error).message);
      }
    }
  }
}

async function lintSignature(context: LintContext, name: string): Promise<void> {
  const signatureName = `${name}${SIGNATURE_SUFFIX}`;
  if (!context.files.includes(signatureName)) {
    add(context, 'error', 'SIGNATURE_MISSING', name, `${name} has no signature ${signatureName}; run "backend-updater release sign".`);
    return;
  }
  try {
    const signature = parseSignature(await fs.readFile(path.join(context.dir, signatureName), 'utf8'), signatureName);
    if (!context.report.keyIds.includes(signature.keyId)) context.report.keyIds.push(signature.keyId);
    if (context.options.keys.length > 0) await verifySignedFile(path.join(context.dir, name), signature, context.options.keys, name);
  } catch (error) {
    add(context, 'error', error instanceof UpdateError ? error.code : 'SIGNATURE_INVALID', signatureName, (error as Error).message);
  }
}

async function lintSignatures(context: LintContext): Promise<void> {
  const signed = [...context.archives.map((archive) => archive.name), ...(context.files.includes(RELEASE_MANIFEST_NAME) ? [RELEASE_MANIFEST_NAME] : [])];
  for (const name of signed) await lintSignature(context, name);
  if (context.report.keyIds.length > 1) add(context, 'warning', 'SIGNATURE_INVALID', null, `The files are signed by ${context.report.keyIds.length} different keys (${context.report.keyIds.join(', ')}); users need all of them in publicKeys.`);
  if (context.options.keys.length === 0) add(context, 'warning', 'SIGNATURE_MISSING', null, 'No --public-key given, so signatures were checked for format only, not verified.');
}

async function readManifest(context: LintContext): Promise<ReleaseManifest | null> {
  if (!context.files.includes(RELEASE_MANIFEST_NAME)) {
    add(context, 'error', 'SIGNATURE_MISSING', RELEASE_MANIFEST_NAME, `The release has no ${RELEASE_MANIFEST_NAME}; updaters with trusted keys reject it. Run "backend-updater release sign".`);
    return null;
  }
  try {
    return parseReleaseManifest(await fs.readFile(path.join(context.dir, RELEASE_MANIFEST_NAME), 'utf8'));
  } catch (error) {
    add(context, 'error', 'MANIFEST_MISMATCH', RELEASE_MANIFEST_NAME, (error as Error).message);
    return null;
  }
}

function lintManifest(context: LintContext, manifest: ReleaseManifest): void {
  const product = context.options.product ?? 'python-backend';
  const problem = (message: string, file: string | null = RELEASE_MANIFEST_NAME): void => add(context, 'error', 'MANIFEST_MISMATCH', file, message);
  if (manifest.product !== product) problem(`The manifest names product "${manifest.product}", not "${product}".`);
  for (const archive of context.archives) {
    const entry = manifest.assets.find((asset) => asset.name === archive.name);
    if (!entry) problem(`The manifest does not list ${archive.name}.`, archive.name);
    else if (entry.size !== archive.size || entry.sha256 !== archive.sha256) problem(`The manifest's size or SHA-256 for ${archive.name} does not match the file.`, archive.name);
    else if (entry.platform !== archive.platform || entry.arch !== archive.arch) problem(`The manifest signs ${archive.name} for ${entry.platform}-${entry.arch}, but its name says ${archive.platform}-${archive.arch}.`, archive.name);
    if (archive.version !== manifest.version) problem(`${archive.name} is version ${archive.version}, but the manifest is ${manifest.version}.`, archive.name);
  }
  for (const entry of manifest.assets) {
    if (!context.archives.some((archive) => archive.name === entry.name)) problem(`The manifest lists ${entry.name}, which is not in the release.`);
  }
}

/**
 * Lints a release folder: archive names and versions, one build per platform
 * and arch as the updater selects it, SHA-256 files, signatures (verified
 * when `keys` are given) and the signed release manifest.
 */
export async function lintReleaseFolder(dir: string, options: LintOptions): Promise<LintReport> {
  const folder = path.resolve(dir);
  const report: LintReport = { version: null, archives: [], keyIds: [], problems: [] };
  const context: LintContext = { dir: folder, files: await listReleaseFiles(folder), archives: [], options, report };
  await collectArchives(context);
  report.archives = context.archives.map((archive) => archive.name);
  const manifest = await readManifest(context);
  lintVersions(context, manifest);
  lintTargets(context);
  await lintChecksums(context);
  await lintSignatures(context);
  if (manifest) lintManifest(context, manifest);
  return report;
}
