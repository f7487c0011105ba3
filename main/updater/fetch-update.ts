import fs from 'node:fs/promises';
import path from 'node:path';
import type { UpdaterConfig } from '../config';
import type { Logger } from '../logger';
import type { FoundUpdate } from './check';
import { downloadFile, type DownloadProgress } from './download';
import { UpdateError } from './errors';
import type { ReleaseAsset } from './feeds/types';
import { hostOf, httpRequest, readBody, redactUrl, withRetry } from './http';
import { resolveExpectedSha256, verifyCachedFile, verifySha256, type ChecksumSource } from './verify';

/** Largest checksum file read into memory. */
const MAX_CHECKSUM_FILE_BYTES = 1024 * 1024;

export interface FetchContext {
  config: UpdaterConfig;
  logger: Logger;
  downloadsDir: string;
  /** Writes the archive straight into this folder instead of the per-version cache folder. */
  outputDir?: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface FetchedUpdate {
  file: string;
  sha256: string;
  size: number;
  /** Source of the expected hash, or null when the release publishes none. */
  checksumSource: ChecksumSource | null;
  fromCache: boolean;
}

/** Returns the Authorization value and the only host that may receive it. */
function credentials(config: UpdaterConfig): { authorization?: string; authHost?: string } {
  if (!config.token) return {};
  return { authorization: `Bearer ${config.token}`, authHost: hostOf(config.feedUrl) };
}

async function fetchChecksumText(asset: ReleaseAsset, context: FetchContext): Promise<string> {
  const { config, logger, signal } = context;
  return withRetry(
    async () => {
      const response = await httpRequest(asset.url, {
        ...credentials(config),
        signal,
        idleTimeoutMs: config.idleTimeoutMs,
      });
      if (response.status < 200 || response.status >= 300) {
        response.body.resume();
        throw new UpdateError('DOWNLOAD_HTTP', `Checksum file ${asset.name} returned HTTP ${response.status} at ${redactUrl(response.url)}.`, {
          retryable: response.status >= 500,
          details: { status: response.status, asset: asset.name },
        });
      }
      return (await readBody(response, MAX_CHECKSUM_FILE_BYTES)).toString('utf8');
    },
    { logger, signal, label: `checksum file ${asset.name}` },
  );
}

/** Folder of one version's download; the cache key is the version plus the expected hash. */
function cacheFolder(downloadsDir: string, version: string, sha256: string | null): string {
  return path.join(downloadsDir, `${version}-${sha256 ? sha256.slice(0, 16) : 'unverified'}`);
}

/**
 * Downloads the update's archive into the downloads folder and verifies it
 * against every checksum the release publishes. A cached file from an earlier
 * attempt is reused only after its size and hash check out again.
 */
export async function fetchUpdate(context: FetchContext, found: FoundUpdate): Promise<FetchedUpdate> {
  const { config, logger } = context;
  const { archive, sidecar, sums } = found.choice;

  const expected = await resolveExpectedSha256({
    archive,
    sidecar,
    sums,
    fetchText: (asset) => fetchChecksumText(asset, context),
  });
  if (!expected && config.checksumPolicy === 'required') {
    throw new UpdateError('CHECKSUM_MISSING', `Release ${found.info.version} publishes no SHA-256 for ${archive.name} (no digest, no ${archive.name}.sha256, no SHA256SUMS). Publish one, or set checksumPolicy to "if-present".`);
  }
  if (!expected) logger.warn(`release ${found.info.version} publishes no SHA-256 for ${archive.name}; only its size is checked`);

  const folder = context.outputDir ?? cacheFolder(context.downloadsDir, found.info.version, expected?.sha256 ?? null);
  const destination = path.join(folder, path.basename(archive.name));
  await fs.mkdir(folder, { recursive: true });

  if (expected && (await verifyCachedFile(destination, { size: archive.size, sha256: expected.sha256 }))) {
    const stat = await fs.stat(destination);
    logger.info(`reusing verified download ${destination} (${stat.size} bytes)`);
    context.onProgress?.({ transferred: stat.size, total: stat.size, bytesPerSecond: 0 });
    return { file: destination, sha256: expected.sha256, size: stat.size, checksumSource: expected.source, fromCache: true };
  }
  await fs.rm(destination, { force: true });

  const result = await downloadFile({
    url: archive.url,
    destination,
    expectedSize: archive.size,
    ...credentials(config),
    signal: context.signal,
    idleTimeoutMs: config.idleTimeoutMs,
    onProgress: context.onProgress,
    logger,
  });
  if (expected) {
    try {
      verifySha256(result.sha256, expected.sha256, archive.name);
    } catch (error) {
      await fs.rm(result.path, { force: true });
      throw error;
    }
  }
  logger.info(`verified ${archive.name}: ${result.size} bytes, sha256 ${result.sha256} (${expected?.source ?? 'no checksum published'})`);
  return { file: result.path, sha256: result.sha256, size: result.size, checksumSource: expected?.source ?? null, fromCache: false };
}
