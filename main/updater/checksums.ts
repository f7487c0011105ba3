import { UpdateError } from './errors';

/**
 * Kind of checksum file. A sidecar (`<asset>.sha256`) belongs to one asset and
 * may contain a bare digest. A SUMS file (`SHA256SUMS`) lists digests by name.
 */
export type ChecksumFileKind = 'sidecar' | 'sums';

const SHA256_HEX_LENGTH = 64;
const HEX = /^[0-9a-f]+$/i;
const BSD_LINE = /^([A-Za-z0-9-]+) ?\((.*)\) ?= ?(\S+)$/;
const GNU_LINE = /^(\\?)(\S+)\s+(.+)$/;

interface ChecksumEntry {
  /** File name with the binary flag and a leading `./` removed, or null for a bare digest. */
  name: string | null;
  digest: string;
  lineNumber: number;
}

function describeDigestProblem(hex: string): string {
  if (!HEX.test(hex)) return 'it contains characters that are not hex digits';
  if (hex.length === 128) return 'it has 128 hex digits, the length of SHA-512, which is not supported';
  return `it has ${hex.length} hex digits instead of ${SHA256_HEX_LENGTH}`;
}

function shorten(value: string): string {
  return value.length > 140 ? `${value.slice(0, 140)}…` : value;
}

/**
 * Normalizes a SHA-256 digest to 64 lowercase hex digits. Accepts bare hex or
 * `sha256:<hex>` with the prefix in any case. Throws CHECKSUM_FORMAT for another
 * algorithm or a wrong length. `label` names the value's origin in the message.
 */
export function normalizeDigest(digest: string, label = 'SHA-256 digest'): string {
  const trimmed = digest.trim();
  let hex = trimmed;
  const prefixed = /^([A-Za-z0-9-]+):(.*)$/.exec(trimmed);
  if (prefixed) {
    const algorithm = (prefixed[1] ?? '').toLowerCase();
    if (algorithm !== 'sha256') {
      throw new UpdateError(
        'CHECKSUM_FORMAT',
        `Unsupported checksum algorithm "${prefixed[1]}" in ${label} "${shorten(trimmed)}". Only SHA-256 is supported; publish a sha256 digest.`,
        { details: { digest: shorten(trimmed), algorithm } },
      );
    }
    hex = prefixed[2] ?? '';
  }
  if (hex.length !== SHA256_HEX_LENGTH || !HEX.test(hex)) {
    throw new UpdateError(
      'CHECKSUM_FORMAT',
      `Invalid ${label} "${shorten(trimmed)}": ${describeDigestProblem(hex)}. Fix the checksum source; a SHA-256 digest is 64 hex digits.`,
      { details: { digest: shorten(trimmed) } },
    );
  }
  return hex.toLowerCase();
}

const GNU_ESCAPES: Record<string, string> = { '\\': '\\', n: '\n', r: '\r' };

function unescapeGnuName(name: string): string {
  // GNU coreutils prefixes a line with `\` when the name contains `\` or a line break, and escapes those.
  return name.replace(/\\(\\|n|r)/g, (_match, code: string) => GNU_ESCAPES[code] ?? code);
}

function stripDotSlash(name: string): string {
  return name.startsWith('./') ? name.slice(2) : name;
}

function parseLine(line: string, lineNumber: number, fileLabel: string): ChecksumEntry {
  const bsd = BSD_LINE.exec(line);
  if (bsd) {
    const algorithm = bsd[1] ?? '';
    const digest = bsd[3] ?? '';
    // A line of another algorithm keeps its prefix, so normalizeDigest rejects it if it is for the asset.
    const prefixed = algorithm.toUpperCase() === 'SHA256' ? digest : `${algorithm}:${digest}`;
    return { name: stripDotSlash(bsd[2] ?? ''), digest: prefixed, lineNumber };
  }

  const gnu = GNU_LINE.exec(line);
  if (gnu && HEX.test(gnu[2] ?? '')) {
    const rawName = gnu[1] ? unescapeGnuName(gnu[3] ?? '') : (gnu[3] ?? '');
    // `*` before the name is the binary-mode flag of sha256sum, not part of the name.
    const name = rawName.startsWith('*') ? rawName.slice(1) : rawName;
    return { name: stripDotSlash(name), digest: gnu[2] ?? '', lineNumber };
  }

  if (/^\S+$/.test(line)) return { name: null, digest: line, lineNumber };

  throw new UpdateError(
    'CHECKSUM_FORMAT',
    `Line ${lineNumber} of ${fileLabel} is not a checksum line: "${shorten(line)}". Expected "<sha256>  <file name>" or "SHA256 (<file name>) = <sha256>".`,
    { details: { file: fileLabel, line: lineNumber } },
  );
}

function parseEntries(text: string, fileLabel: string): ChecksumEntry[] {
  const entries: ChecksumEntry[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    entries.push(parseLine(line, index + 1, fileLabel));
  });
  return entries;
}

function pickBareDigest(entries: ChecksumEntry[], kind: ChecksumFileKind, fileLabel: string): string | null {
  const bare = entries.find((entry) => entry.name === null);
  if (!bare) return null;
  if (kind === 'sums') {
    throw new UpdateError(
      'CHECKSUM_FORMAT',
      `Line ${bare.lineNumber} of ${fileLabel} has a digest but no file name. A SUMS file needs "<sha256>  <file name>" lines.`,
      { details: { file: fileLabel, line: bare.lineNumber } },
    );
  }
  if (entries.length > 1) {
    throw new UpdateError(
      'CHECKSUM_FORMAT',
      `${fileLabel} mixes a bare digest (line ${bare.lineNumber}) with other lines. A sidecar contains either one bare digest or "<sha256>  <file name>" lines.`,
      { details: { file: fileLabel, line: bare.lineNumber } },
    );
  }
  return normalizeDigest(bare.digest, `digest on line ${bare.lineNumber} of ${fileLabel}`);
}

/**
 * Parses a checksum file and returns the lowercase SHA-256 hex for `assetName`.
 *
 * Accepts GNU lines (`<hex>  <name>`, `<hex> *<name>`, `<hex>  ./<name>`), BSD
 * lines (`SHA256 (<name>) = <hex>`), CRLF line endings, blank lines and `#`
 * comments, plus a bare digest when `kind` is `sidecar`. Names must equal
 * `assetName` exactly once the binary flag `*` and one leading `./` are
 * removed. Throws CHECKSUM_FORMAT for an unparseable line, a malformed or
 * non-SHA-256 digest for the asset, no line for the asset, or two different
 * digests for it. `fileName` names the checksum file in messages.
 */
export function parseChecksumFile(text: string, assetName: string, kind: ChecksumFileKind = 'sums', fileName?: string): string {
  const fileLabel = fileName ?? `${kind === 'sidecar' ? 'sidecar' : 'SUMS file'} for ${assetName}`;
  const entries = parseEntries(text, fileLabel);
  if (entries.length === 0) {
    throw new UpdateError('CHECKSUM_FORMAT', `${fileLabel} contains no checksum. Publish a SHA-256 digest for ${assetName}.`, {
      details: { file: fileLabel, asset: assetName },
    });
  }

  const bare = pickBareDigest(entries, kind, fileLabel);
  if (bare !== null) return bare;

  const matches = entries.filter((entry) => entry.name === assetName);
  if (matches.length === 0) {
    throw new UpdateError('CHECKSUM_FORMAT', `${fileLabel} has no line for ${assetName}. Publish a checksum file that lists this asset.`, {
      details: { file: fileLabel, asset: assetName },
    });
  }

  const digests = matches.map((entry) => normalizeDigest(entry.digest, `digest for ${assetName} on line ${entry.lineNumber} of ${fileLabel}`));
  const first = digests[0] as string;
  const conflict = digests.findIndex((digest) => digest !== first);
  if (conflict !== -1) {
    const lines = `${matches[0]?.lineNumber} and ${matches[conflict]?.lineNumber}`;
    throw new UpdateError(
      'CHECKSUM_FORMAT',
      `${fileLabel} lists two different digests for ${assetName} (lines ${lines}). Publish one digest per file.`,
      { details: { file: fileLabel, asset: assetName, first, second: digests[conflict] ?? null } },
    );
  }
  return first;
}
