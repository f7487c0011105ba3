import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { normalizeDigest, parseChecksumFile } from './checksums';
import { createStreamHasher, HashWorkerError } from './download-hash';
import { CancelledError, UpdateError } from './errors';
import type { ReleaseAsset } from './feeds/types';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';

export { normalizeDigest, parseChecksumFile, type ChecksumFileKind } from './checksums';

/** Origin of an expected SHA-256: configuration, the feed's `digest` field, a sidecar file or a SUMS file. */
export type ChecksumSource = 'digest' | 'sidecar' | 'sums' | 'config';

/** Expected SHA-256 of an archive and the source that supplied it. */
export interface ExpectedSha256 {
  sha256: string;
  source: ChecksumSource;
}

export interface ResolveExpectedSha256Input {
  archive: ReleaseAsset;
  /** `<archive>.sha256` asset of the same release, or null. */
  sidecar: ReleaseAsset | null;
  /** `SHA256SUMS` style asset of the same release, or null. */
  sums: ReleaseAsset | null;
  /** Digest pinned in configuration, as bare hex or `sha256:<hex>`. Null, undefined or blank means none. */
  configured?: string | null;
  /** Fetches a checksum asset as text, through the engine's HTTP client. */
  fetchText: (asset: ReleaseAsset) => Promise<string>;
}

interface Candidate extends ExpectedSha256 {
  /** Name of the source for messages, such as `sidecar python-backend.zip.sha256`. */
  label: string;
}

async function collectCandidates(input: ResolveExpectedSha256Input): Promise<Candidate[]> {
  const { archive } = input;
  const candidates: Candidate[] = [];

  const configured = input.configured?.trim();
  if (configured) {
    const sha256 = normalizeDigest(configured, `configured SHA-256 for ${archive.name}`);
    candidates.push({ sha256, source: 'config', label: 'configuration' });
  }
  if (archive.digest !== null) {
    const sha256 = normalizeDigest(archive.digest, `feed digest of ${archive.name}`);
    candidates.push({ sha256, source: 'digest', label: 'feed digest' });
  }
  if (input.sidecar) {
    const text = await input.fetchText(input.sidecar);
    const sha256 = parseChecksumFile(text, archive.name, 'sidecar', input.sidecar.name);
    candidates.push({ sha256, source: 'sidecar', label: `sidecar ${input.sidecar.name}` });
  }
  if (input.sums) {
    const text = await input.fetchText(input.sums);
    const sha256 = parseChecksumFile(text, archive.name, 'sums', input.sums.name);
    candidates.push({ sha256, source: 'sums', label: `SUMS file ${input.sums.name}` });
  }
  return candidates;
}

/**
 * Resolves the expected SHA-256 of `input.archive` from configuration, the
 * feed's `digest`, the sidecar and the SUMS file, in that order of precedence.
 * Every present source is read and checked. A malformed source throws
 * CHECKSUM_FORMAT, and two sources that disagree throw CHECKSUM_MISMATCH naming
 * both. Returns null only when no source exists, so the caller applies its policy.
 */
export async function resolveExpectedSha256(input: ResolveExpectedSha256Input): Promise<ExpectedSha256 | null> {
  const candidates = await collectCandidates(input);
  const [first, ...others] = candidates;
  if (!first) return null;

  const conflict = others.find((candidate) => candidate.sha256 !== first.sha256);
  if (conflict) {
    const name = input.archive.name;
    throw new UpdateError(
      'CHECKSUM_MISMATCH',
      `SHA-256 sources for ${name} disagree: ${first.label} gives ${first.sha256}, ${conflict.label} gives ${conflict.sha256}. The release's checksums are inconsistent; ask its publisher to fix them.`,
      {
        retryable: false,
        details: { file: name, source: first.source, sha256: first.sha256, otherSource: conflict.source, otherSha256: conflict.sha256 },
      },
    );
  }
  return { sha256: first.sha256, source: first.source };
}

/** Read size for hashing a file: large reads cost fewer system calls than the 64 KiB stream default. */
const HASH_READ_BYTES = 1024 * 1024;
/** Smallest file hashed on a worker thread: below it, starting the worker costs more than the hashing. */
const WORKER_HASH_MIN_BYTES = 4 * 1024 * 1024;

/** Streams the file at `path` into `hash` and returns the number of bytes read. */
export async function updateHashFromFile(hash: Hash, path: string, signal?: AbortSignal): Promise<number> {
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback();
    },
  });
  try {
    await pipeline(createReadStream(path, { highWaterMark: HASH_READ_BYTES }), sink, { signal });
  } catch (error) {
    if (signal?.aborted) throw new CancelledError();
    throw error;
  }
  return bytes;
}

/**
 * Computes the lowercase SHA-256 hex of a file. A file of 4 MiB or more is
 * read and hashed on a worker thread, so the event loop stays free. When the
 * worker fails, the file is hashed on this thread instead.
 */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const { size } = await stat(path);
  const hasher = createStreamHasher(size >= WORKER_HASH_MIN_BYTES);
  try {
    await hasher.updateFromFile(path, signal);
    return await hasher.digest();
  } catch (error) {
    if (!(error instanceof HashWorkerError) || error.code !== null) throw error;
  } finally {
    hasher.close();
  }
  const hash = createHash('sha256');
  await updateHashFromFile(hash, path, signal);
  return hash.digest('hex');
}

/**
 * Throws CHECKSUM_MISMATCH unless `actual` equals `expected`. Both may be bare
 * hex or `sha256:<hex>` and are compared without case. A malformed value
 * throws CHECKSUM_FORMAT.
 */
export function verifySha256(actual: string, expected: string, fileName: string): void {
  const expectedHex = normalizeDigest(expected, `expected SHA-256 of ${fileName}`);
  const actualHex = normalizeDigest(actual, `computed SHA-256 of ${fileName}`);
  if (actualHex === expectedHex) return;

  throw new UpdateError(
    'CHECKSUM_MISMATCH',
    `SHA-256 of ${fileName} does not match: expected ${expectedHex}, got ${actualHex}. The file is corrupt or is not the published one; download it again.`,
    { retryable: false, details: { file: fileName, expected: expectedHex, actual: actualHex } },
  );
}

async function statFile(path: string): Promise<{ size: number } | null> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? stats : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Re-verifies a cached download before reuse. Returns true when the file exists
 * and matches `expected`. A file that fails is deleted and false returned. A
 * file without an expected SHA-256 also counts as failed, because a size alone
 * does not prove the bytes.
 */
export async function verifyCachedFile(
  path: string,
  expected: { size: number | null; sha256: string | null },
  logger: Logger = silentLogger,
): Promise<boolean> {
  const stats = await statFile(path);
  if (!stats) return false;

  let problem: string | null = null;
  if (expected.sha256 === null) {
    problem = 'no expected SHA-256 to check it against';
  } else if (expected.size !== null && stats.size !== expected.size) {
    problem = `size ${stats.size} bytes, expected ${expected.size}`;
  } else {
    const expectedHex = normalizeDigest(expected.sha256, `expected SHA-256 of ${path}`);
    const actual = await sha256File(path);
    if (actual !== expectedHex) problem = `SHA-256 ${actual}, expected ${expectedHex}`;
  }

  if (problem === null) {
    logger.info(`cache hit ${path}: size and SHA-256 verified`);
    return true;
  }
  logger.warn(`cache rejected ${path}: ${problem}; deleting it`);
  await rm(path, { force: true });
  return false;
}
