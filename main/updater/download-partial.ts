import { createHash } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../logger';

/**
 * Resume record stored in `<destination>.part.json` next to the `.part` file.
 * It ties the partial bytes to one URL and expected size, and keeps the
 * validator for If-Range.
 */
export interface PartialMeta {
  /** SHA-256 of the request URL, so that a signed query string is never written to disk. */
  urlSha256: string;
  expectedSize: number | null;
  etag: string | null;
  lastModified: string | null;
}

/** The `.part` file of a download, its resume record, and what a resume must match. */
export interface PartialFile {
  partPath: string;
  metaPath: string;
  url: string;
  expectedSize: number | null;
}

function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function fileSize(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Reads the resume record, or returns null when it is missing or unreadable. */
export async function readPartialMeta(metaPath: string): Promise<PartialMeta | null> {
  try {
    const parsed = JSON.parse(await readFile(metaPath, 'utf8')) as Partial<PartialMeta>;
    if (typeof parsed.urlSha256 !== 'string') return null;
    return {
      urlSha256: parsed.urlSha256,
      expectedSize: typeof parsed.expectedSize === 'number' ? parsed.expectedSize : null,
      etag: typeof parsed.etag === 'string' ? parsed.etag : null,
      lastModified: typeof parsed.lastModified === 'string' ? parsed.lastModified : null,
    };
  } catch {
    return null;
  }
}

/** Writes the resume record from the response headers of a full (offset 0) transfer. */
export async function writePartialMeta(partial: PartialFile, headers: IncomingHttpHeaders): Promise<void> {
  const meta: PartialMeta = {
    urlSha256: sha256Text(partial.url),
    expectedSize: partial.expectedSize,
    etag: typeof headers.etag === 'string' ? headers.etag : null,
    lastModified: headers['last-modified'] ?? null,
  };
  await writeFile(partial.metaPath, JSON.stringify(meta));
}

/** Deletes the `.part` file and its resume record. */
export async function discardPartial(partial: PartialFile): Promise<void> {
  await rm(partial.partPath, { force: true });
  await rm(partial.metaPath, { force: true });
}

/**
 * Returns the byte offset at which a download can continue its `.part` file.
 * Returns 0 after deleting a `.part` that cannot be trusted. That is the case
 * when resume is off, the file is empty, its record is missing or names another
 * URL or size, or it is not shorter than the expected size and the limit.
 */
export async function findResumeOffset(partial: PartialFile, resume: boolean, maxBytes: number, logger: Logger): Promise<number> {
  const size = await fileSize(partial.partPath);
  if (size === null) {
    await rm(partial.metaPath, { force: true });
    return 0;
  }

  const meta = await readPartialMeta(partial.metaPath);
  const { expectedSize } = partial;
  let reason: string | null = null;
  if (!resume) reason = 'resume is off';
  else if (size === 0) reason = 'it is empty';
  else if (!meta || meta.urlSha256 !== sha256Text(partial.url)) reason = 'it has no resume record for this URL';
  else if (meta.expectedSize !== expectedSize) reason = `it was started for expected size ${meta.expectedSize}`;
  else if (expectedSize !== null && size >= expectedSize) reason = `it has ${size} bytes, not fewer than the expected ${expectedSize}`;
  else if (size > maxBytes) reason = `it has ${size} bytes, more than the limit of ${maxBytes}`;
  if (reason === null) return size;

  logger.info(`download discards ${partial.partPath}: ${reason}`);
  await discardPartial(partial);
  return 0;
}

/** Builds the request headers, with Range and If-Range when continuing from `offset`. */
export function downloadRequestHeaders(offset: number, meta: PartialMeta | null): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/octet-stream', 'accept-encoding': 'identity' };
  if (offset === 0) return headers;

  headers.range = `bytes=${offset}-`;
  // If-Range takes a strong ETag or a date. With it, a changed file comes back whole (200) instead of spliced.
  const validator = meta?.etag && !meta.etag.startsWith('W/') ? meta.etag : meta?.lastModified;
  if (validator) headers['if-range'] = validator;
  return headers;
}
