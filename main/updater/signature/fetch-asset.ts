import type { UpdaterConfig } from '../../config';
import type { Logger } from '../../logger';
import { UpdateError } from '../errors';
import type { ReleaseAsset } from '../feeds/types';
import { hostOf, httpRequest, readBody, redactUrl, withRetry } from '../http';

/** Context for fetching a small release asset: the token rules, the timeout and cancellation. */
export interface AssetFetchContext {
  config: UpdaterConfig;
  logger: Logger;
  signal?: AbortSignal;
}

/** Returns the Authorization value and the only host that may receive it (the feed's). */
export function credentials(config: UpdaterConfig): { authorization?: string; authHost?: string } {
  if (!config.token) return {};
  return { authorization: `Bearer ${config.token}`, authHost: hostOf(config.feedUrl) };
}

/**
 * Downloads a small release asset (a checksum file, a signature, the release
 * manifest) into memory through the engine's HTTP client, with retries.
 * Throws DOWNLOAD_HTTP for a non-2xx response and FEED_FORMAT past `maxBytes`.
 */
export async function fetchAssetBytes(asset: ReleaseAsset, context: AssetFetchContext, maxBytes: number): Promise<Buffer> {
  const { config, logger, signal } = context;
  return withRetry(
    async () => {
      const response = await httpRequest(asset.url, { ...credentials(config), signal, idleTimeoutMs: config.idleTimeoutMs });
      if (response.status < 200 || response.status >= 300) {
        response.body.resume();
        throw new UpdateError('DOWNLOAD_HTTP', `Release asset ${asset.name} returned HTTP ${response.status} at ${redactUrl(response.url)}. Check that the release still publishes it.`, {
          retryable: response.status >= 500,
          details: { status: response.status, asset: asset.name },
        });
      }
      return readBody(response, maxBytes);
    },
    { logger, signal, label: `release asset ${asset.name}` },
  );
}
