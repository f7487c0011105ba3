import { UpdateError } from '../errors';
import { redactUrl } from '../http';
import { collectGitHubReleases } from './github';
import { isManifestShape, parseManifest } from './manifest';
import { createFeedContext, fetchFeedPage, type FeedContext, type FeedOptions } from './fetch-page';
import type { ListReleasesOptions, Release, ReleaseFeed } from './types';

export { EtagCache } from './etag-cache';
export { GitHubReleasesFeed } from './github';
export { ManifestFeed } from './manifest';
export type { FeedOptions } from './fetch-page';
export type { ListReleasesOptions, Release, ReleaseAsset, ReleaseFeed } from './types';

type FeedKind = 'github' | 'manifest';

function describeJson(json: unknown): string {
  if (json === null) return 'null';
  if (typeof json !== 'object') return `a JSON ${typeof json}`;
  const keys = Object.keys(json).slice(0, 5);
  return keys.length > 0 ? `an object with keys ${keys.join(', ')}` : 'an empty object';
}

/**
 * Feed whose kind is decided by the first response of each listing: a JSON
 * array is the GitHub Releases API (paginated), an object with a `releases`
 * array is a static manifest.
 */
class DetectingFeed implements ReleaseFeed {
  readonly description: string;
  private readonly context: FeedContext;
  private kind: FeedKind | null = null;

  constructor(options: FeedOptions) {
    this.context = createFeedContext(options);
    this.description = `release feed ${redactUrl(this.context.feedUrl)}`;
  }

  async listReleases(options: ListReleasesOptions = {}): Promise<Release[]> {
    const { logger, feedUrl } = this.context;
    logger.info(`feed: listing releases from ${redactUrl(feedUrl)}`);
    const first = await fetchFeedPage(this.context, feedUrl.toString(), options.signal);

    if (Array.isArray(first.json)) {
      this.noteKind('github');
      return collectGitHubReleases(this.context, first, options.signal);
    }
    if (isManifestShape(first.json)) {
      this.noteKind('manifest');
      const releases = parseManifest(first, logger);
      const cached = first.fromCache ? ' (not modified)' : '';
      logger.info(`feed: ${releases.length} releases from manifest ${redactUrl(feedUrl)}${cached}`);
      return releases;
    }
    throw new UpdateError(
      'FEED_FORMAT',
      `Feed ${redactUrl(first.url)} returned ${describeJson(first.json)}. Expected a JSON array of releases ` +
        '(GitHub Releases API) or an object with a "releases" array (release manifest). Check the feed URL.',
      { details: { url: redactUrl(first.url) } },
    );
  }

  private noteKind(kind: FeedKind): void {
    if (this.kind === kind) return;
    this.kind = kind;
    const label = kind === 'github' ? 'GitHub Releases API' : 'release manifest';
    this.context.logger.info(`feed: ${redactUrl(this.context.feedUrl)} is a ${label} feed`);
  }
}

/**
 * Creates a release feed for a URL. One URL works for both feed kinds because
 * the first response's shape decides: a JSON array is read as the GitHub
 * Releases API, an object with a `releases` array as a static manifest, and
 * anything else fails with FEED_FORMAT.
 */
export function createFeed(options: FeedOptions): ReleaseFeed {
  return new DetectingFeed(options);
}
