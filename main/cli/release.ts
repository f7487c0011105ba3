import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { configFromEnvironment } from '../config';
import { createLogger } from '../logger';
import { writeChecksums } from '../release/checksums';
import { writeKeyPair } from '../release/keygen';
import { lintReleaseFolder, type LintReport } from '../release/lint-folder';
import { lintPublishedRelease } from '../release/lint-published';
import { packRelease } from '../release/pack';
import { signRelease } from '../release/sign-release';
import type { ArchiveFormat } from '../updater/assets';
import { UpdateError } from '../updater/errors';
import { decodeSecretKey, isEncryptedSecretKey } from '../updater/signature/secret-key';
import { loadTrustedKeys } from '../updater/signature/trusted-keys';
import { parseCommandArgs, parseVersionOption, requireString, type ParsedValues } from './args';
import { formatBytes, printResult } from './output';
import { readPassword } from './password';

const logger = createLogger('release');

/** Help text of `backend-updater release`. */
export const RELEASE_USAGE = `Usage: backend-updater release <command> [options]

Publisher tools: make signed releases that the updater installs. Keys and
signatures use minisign's formats, so the minisign tool reads them too.

Commands:
  keygen     [--public-key FILE] [--secret-key FILE] [--unencrypted] [--password-file FILE] [--force]
             Create a key pair (default minisign.pub and minisign.key). The secret key is
             encrypted with a password unless --unencrypted is given (for a CI secret store).
  pack       --source DIR --version VERSION [--platform NAME] [--arch NAME] [--format zip|tar.gz]
             [--out DIR] [--entry-point FILE]
             Build python-backend-<version>-<platform>-<arch>.<format> from DIR (default out:
             release/<version>). Platform and arch default to this machine's; format to zip
             on win32, tar.gz elsewhere.
  sign       --secret-key FILE --dir DIR [--password-file FILE] [--version VERSION] [--product NAME]
             Sign every archive in DIR and write and sign python-backend-release.json. Keys
             made by "minisign -G" work too.
  checksums  --dir DIR
             Write SHA256SUMS for the files in DIR.
  check      (--dir DIR | --feed URL [--version VERSION]) [--public-key FILE ...] [--product NAME]
             Check a release folder, or a published release, against what the updater accepts.

The password comes from --password-file, then BACKEND_UPDATER_KEY_PASSWORD, then a
terminal prompt, then the first line of standard input.`;

function stringOption(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

async function keygenCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('release keygen', args, {
    'public-key': { type: 'string' },
    'secret-key': { type: 'string' },
    unencrypted: { type: 'boolean' },
    'password-file': { type: 'string' },
    force: { type: 'boolean' },
  });
  const password = values.unencrypted ? null : await readPassword({ file: stringOption(values, 'password-file'), confirm: true, purpose: 'the new secret key' });
  const result = await writeKeyPair({
    publicKeyFile: stringOption(values, 'public-key') ?? 'minisign.pub',
    secretKeyFile: stringOption(values, 'secret-key') ?? 'minisign.key',
    password,
    force: values.force === true,
  });
  printResult(values.json === true, { key_id: result.keyId, public_key_file: result.publicKeyFile, secret_key_file: result.secretKeyFile, encrypted: password !== null }, [
    `Key ${result.keyId} created.`,
    `Public key: ${result.publicKeyFile} (list it in the app's publicKeys)`,
    `Secret key: ${result.secretKeyFile} (${password === null ? 'NOT encrypted: keep it in a secret store' : 'encrypted with your password'}; never publish it)`,
  ]);
}

function parseFormat(value: string | undefined): ArchiveFormat | undefined {
  if (value === undefined || value === 'zip' || value === 'tar.gz') return value;
  throw new UpdateError('INVALID_INPUT', `Invalid --format "${value}": use zip or tar.gz.`);
}

async function packCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('release pack', args, {
    source: { type: 'string' },
    version: { type: 'string' },
    platform: { type: 'string' },
    arch: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    'entry-point': { type: 'string' },
  });
  const version = parseVersionOption(requireString(values, 'version', 'release pack'), 'version');
  const packed = await packRelease({
    source: requireString(values, 'source', 'release pack'),
    version,
    platform: stringOption(values, 'platform') ?? process.platform,
    arch: stringOption(values, 'arch') ?? process.arch,
    format: parseFormat(stringOption(values, 'format')),
    outDir: stringOption(values, 'out') ?? path.join('release', version),
    entryPoint: stringOption(values, 'entry-point'),
  });
  printResult(values.json === true, { file: packed.file, name: packed.name, size: packed.size, sha256: packed.sha256, files: packed.files }, [
    `Packed ${packed.files} files into ${packed.file} (${formatBytes(packed.size)}, SHA-256 ${packed.sha256})`,
  ]);
}

async function signCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('release sign', args, {
    'secret-key': { type: 'string' },
    dir: { type: 'string' },
    'password-file': { type: 'string' },
    version: { type: 'string' },
    product: { type: 'string' },
  });
  const keyFile = path.resolve(requireString(values, 'secret-key', 'release sign'));
  const text = await readFile(keyFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UpdateError('INVALID_INPUT', `Cannot read secret key ${keyFile} (${error.code ?? error.message}).`);
  });
  const password = isEncryptedSecretKey(text, keyFile) ? await readPassword({ file: stringOption(values, 'password-file'), confirm: false, purpose: keyFile }) : null;
  const secretKey = await decodeSecretKey(text, password, keyFile);
  const version = stringOption(values, 'version');
  const signed = await signRelease({
    dir: requireString(values, 'dir', 'release sign'),
    secretKey,
    product: stringOption(values, 'product'),
    version: version === undefined ? undefined : parseVersionOption(version, 'version'),
  });
  printResult(values.json === true, { key_id: signed.keyId, version: signed.manifest.version, manifest: signed.manifestFile, signatures: signed.signatureFiles }, [
    `Signed ${signed.manifest.assets.length} archive(s) of ${signed.manifest.product} ${signed.manifest.version} with key ${signed.keyId}.`,
    ...signed.signatureFiles.map((file) => `  ${file}`),
    `Manifest: ${signed.manifestFile}`,
  ]);
}

async function checksumsCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('release checksums', args, { dir: { type: 'string' } });
  const dir = path.resolve(requireString(values, 'dir', 'release checksums'));
  const digests = await writeChecksums(dir);
  printResult(values.json === true, { file: path.join(dir, 'SHA256SUMS'), sha256: digests }, Object.entries(digests).map(([name, hex]) => `${hex}  ${name}`));
}

function reportLines(report: LintReport & { tag?: string }): string[] {
  const errors = report.problems.filter((problem) => problem.level === 'error').length;
  const lines = [
    `Release ${report.tag ?? report.version ?? '(unknown version)'}: ${report.archives.length} archive(s), signed by ${report.keyIds.join(', ') || 'no key'}`,
    ...report.problems.map((problem) => `  ${problem.level.toUpperCase()} [${problem.code}]${problem.file ? ` ${problem.file}:` : ''} ${problem.message}`),
  ];
  lines.push(errors === 0 ? 'OK: the updater accepts this release.' : `${errors} error(s): the updater rejects this release or some of its platforms.`);
  return lines;
}

async function checkCommand(args: string[]): Promise<void> {
  const values = parseCommandArgs('release check', args, {
    dir: { type: 'string' },
    feed: { type: 'string' },
    version: { type: 'string' },
    'public-key': { type: 'string', multiple: true },
    product: { type: 'string' },
  });
  const publicKeys = Array.isArray(values['public-key']) ? values['public-key'] : [];
  const keys = await loadTrustedKeys(publicKeys, process.cwd());
  const product = stringOption(values, 'product');
  const dir = stringOption(values, 'dir');
  const feedUrl = stringOption(values, 'feed');
  if ((dir === undefined) === (feedUrl === undefined)) throw new UpdateError('INVALID_INPUT', 'Give either --dir DIR or --feed URL to "release check".');
  const version = stringOption(values, 'version');
  const token = configFromEnvironment().token as string | undefined;
  const report =
    dir !== undefined
      ? await lintReleaseFolder(dir, { keys, product })
      : await lintPublishedRelease({ feedUrl: feedUrl as string, version: version === undefined ? null : parseVersionOption(version, 'version'), token, keys, product, logger });
  printResult(values.json === true, report, reportLines(report));
  const firstError = report.problems.find((problem) => problem.level === 'error');
  if (firstError) throw new UpdateError(firstError.code, `Release check found ${report.problems.filter((problem) => problem.level === 'error').length} error(s); the first: ${firstError.message}`);
}

const SUBCOMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  keygen: keygenCommand,
  pack: packCommand,
  sign: signCommand,
  checksums: checksumsCommand,
  check: checkCommand,
};

/** Runs `backend-updater release <command>`. */
export async function releaseCommand(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  const command = name === undefined ? undefined : SUBCOMMANDS[name];
  if (!command) {
    throw new UpdateError('INVALID_INPUT', `${name === undefined ? 'Missing' : `Unknown`} release command${name === undefined ? '' : ` "${name}"`}. Commands: ${Object.keys(SUBCOMMANDS).join(', ')}. Run "backend-updater release --help".`);
  }
  await command(rest);
}
