/**
 * Static release manifest: one JSON file on any web server or CDN, for apps
 * that must not send every install to the GitHub API.
 *
 * ```json
 * {
 *   "releases": [
 *     {
 *       "version": "2.1.0",
 *       "name": "Backend 2.1.0",
 *       "notes": "Markdown release notes",
 *       "prerelease": false,
 *       "published_at": "2024-06-01T12:00:00Z",
 *       "assets": [
 *         {
 *           "name": "python-backend-2.1.0-linux-x64.tar.gz",
 *           "url": "2.1.0/python-backend-2.1.0-linux-x64.tar.gz",
 *           "size": 123456,
 *           "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 *         }
 *       ]
 *     }
 *   ]
 * }
 * ```
 *
 * - `version` is the release's tag: semver with one optional leading `v`.
 * - `name` (default: the version), `notes` (default: empty), `prerelease`
 *   (default false), `draft` (default false) and `published_at` (ISO 8601)
 *   are optional.
 * - An asset `url` is absolute (http or https) or relative to the manifest's
 *   URL after redirects. `size` (bytes) and `sha256` (64 hex digits) are
 *   optional. A `sha256` is passed on unchanged as the digest
 *   `sha256:<hex>`, and the verify step checks its format.
 * - Releases may be listed in any order. Unknown fields are ignored, and a
 *   release entry that does not match this shape is skipped with a warning.
 */
import { z } from 'zod';
import { UpdateError } from '../errors';
import { redactUrl } from '../http';
import type { ListReleasesOptions, Release, ReleaseAsset, ReleaseFeed } from './types';
import {
  createFeedContext,
  fetchFeedPage,
  parseEntries,
  type FeedContext,
  type FeedOptions,
  type FeedPage,
} from './fetch-page';

const manifestAssetSchema = z.object({
  name: z.string().min(1),
  url: z.string().min(1),
  size: z.number().int().nonnegative().nullish(),
  sha256: z.string().nullish(),
});

const manifestReleaseSchema = z.object({
  version: z.string().min(1),
  name: z.string().nullish(),
  notes: z.string().nullish(),
  prerelease: z.boolean().nullish(),
  draft: z.boolean().nullish(),
  published_at: z.string().nullish(),
  assets: z.array(manifestAssetSchema),
});

type ManifestRelease = z.infer<typeof manifestReleaseSchema>;

/** Returns true when a JSON value has the manifest's top-level shape: an object with a `releases` array. */
export function isManifestShape(json: unknown): json is { releases: unknown[] } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  return Array.isArray((json as { releases?: unknown }).releases);
}

function resolveAssetUrl(raw: string, manifestUrl: string): string | null {
  try {
    const url = new URL(raw, manifestUrl);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : null;
  } catch {
    return null;
  }
}

function toDigest(sha256: string | null | undefined): string | null {
  const value = sha256?.trim();
  if (!value) return null;
  return /^sha256:/i.test(value) ? value : `sha256:${value}`;
}

/** Maps one manifest entry to a Release, or returns the reason it is invalid. */
function toRelease(entry: ManifestRelease, manifestUrl: string): Release | string {
  const assets: ReleaseAsset[] = [];
  for (const asset of entry.assets) {
    const url = resolveAssetUrl(asset.url, manifestUrl);
    if (url === null) return `asset "${asset.name}" has URL "${asset.url}", which is not an http or https URL`;
    assets.push({ name: asset.name, size: asset.size ?? null, url, digest: toDigest(asset.sha256) });
  }
  return {
    tag: entry.version,
    name: entry.name || entry.version,
    notes: entry.notes ?? '',
    draft: entry.draft ?? false,
    prerelease: entry.prerelease ?? false,
    publishedAt: entry.published_at ?? null,
    assets,
  };
}

/**
 * Parses a manifest page into releases, resolving relative asset URLs against
 * the page URL. Throws FEED_FORMAT when the JSON is not an object with a
 * `releases` array.
 */
export function parseManifest(page: Pick<FeedPage, 'json' | 'url'>, logger: FeedContext['logger']): Release[] {
  if (!isManifestShape(page.json)) {
    throw new UpdateError(
      'FEED_FORMAT',
      `Manifest ${redactUrl(page.url)} is not an object with a "releases" array. Check the manifest file or the feed URL.`,
      { details: { url: redactUrl(page.url) } },
    );
  }

  const releases: Release[] = [];
  for (const entry of parseEntries(page.json.releases, manifestReleaseSchema, page.url, logger)) {
    const release = toRelease(entry, page.url);
    if (typeof release === 'string') {
      logger.warn(`feed: skipped release ${entry.version} of ${redactUrl(page.url)} because its ${release}`);
      continue;
    }
    releases.push(release);
  }
  return releases;
}

/** Release feed that reads a static JSON manifest in the format described at the top of this file. */
export class ManifestFeed implements ReleaseFeed {
  readonly description: string;
  private readonly context: FeedContext;

  constructor(options: FeedOptions) {
    this.context = createFeedContext(options);
    this.description = `release manifest ${redactUrl(this.context.feedUrl)}`;
  }

  /** Fetches the manifest (a 304 reuses the cached copy) and returns its releases in file order. */
  async listReleases(options: ListReleasesOptions = {}): Promise<Release[]> {
    const { logger, feedUrl } = this.context;
    logger.info(`feed: listing releases from ${redactUrl(feedUrl)}`);
    const page = await fetchFeedPage(this.context, feedUrl.toString(), options.signal);
    const releases = parseManifest(page, logger);
    const cached = page.fromCache ? ' (not modified)' : '';
    logger.info(`feed: ${releases.length} releases from manifest ${redactUrl(feedUrl)}${cached}`);
    return releases;
  }
}
