import { z } from 'zod';
import { UpdateError } from '../errors';
import { redactUrl } from '../http';
import type { ListReleasesOptions, Release, ReleaseFeed } from './types';
import {
  createFeedContext,
  fetchFeedPage,
  parseEntries,
  type FeedContext,
  type FeedOptions,
  type FeedPage,
} from './fetch-page';

/** One asset as the GitHub Releases API lists it. `digest` may be null or missing. */
const githubAssetSchema = z.object({
  name: z.string().min(1),
  size: z.number().int().nonnegative().nullish(),
  digest: z.string().nullish(),
  browser_download_url: z.url({ protocol: /^https?$/ }),
});

/** One release as the GitHub Releases API lists it. Fields not used here are ignored. */
const githubReleaseSchema = z.object({
  tag_name: z.string(),
  name: z.string().nullish(),
  body: z.string().nullish(),
  draft: z.boolean().nullish(),
  prerelease: z.boolean().nullish(),
  published_at: z.string().nullish(),
  assets: z.array(githubAssetSchema).nullish(),
});

type GitHubRelease = z.infer<typeof githubReleaseSchema>;

function toRelease(entry: GitHubRelease): Release {
  return {
    tag: entry.tag_name,
    name: entry.name || entry.tag_name,
    notes: entry.body ?? '',
    draft: entry.draft ?? false,
    prerelease: entry.prerelease ?? false,
    publishedAt: entry.published_at ?? null,
    assets: (entry.assets ?? []).map((asset) => ({
      name: asset.name,
      size: asset.size ?? null,
      url: asset.browser_download_url,
      digest: asset.digest ?? null,
    })),
  };
}

function apiMessageOf(json: unknown): string | null {
  if (typeof json !== 'object' || json === null || !('message' in json)) return null;
  return typeof json.message === 'string' ? json.message : null;
}

/**
 * Parses one page of the GitHub Releases API. Throws FEED_FORMAT when the body
 * is not a JSON array, for example a `{"message": …}` object with status 200.
 */
export function parseGitHubPage(page: Pick<FeedPage, 'json' | 'url'>, logger: FeedContext['logger']): Release[] {
  if (!Array.isArray(page.json)) {
    const apiMessage = apiMessageOf(page.json);
    const kind = page.json === null ? 'null' : typeof page.json;
    const got = apiMessage === null ? `a JSON ${kind}` : `a message "${apiMessage}"`;
    throw new UpdateError(
      'FEED_FORMAT',
      `Feed ${redactUrl(page.url)} returned ${got} where the GitHub Releases API returns a JSON array of releases. ` +
        'Check the feed URL.',
      { details: { url: redactUrl(page.url), apiMessage } },
    );
  }
  return parseEntries(page.json, githubReleaseSchema, page.url, logger).map(toRelease);
}

/**
 * Returns the absolute `rel="next"` URL of a `Link` header (RFC 8288), or null.
 * Relative targets resolve against `base`.
 */
export function nextPageUrl(link: string | null, base: string): string | null {
  if (!link) return null;
  for (const match of link.matchAll(/<([^>]*)>([^,<]*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(match[2] ?? '');
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (!relations.includes('next')) continue;
    try {
      return new URL(match[1] ?? '', base).toString();
    } catch {
      return null;
    }
  }
  return null;
}

/** Returns why pagination stops before `next`, or null to follow it. */
function stopReason(context: FeedContext, next: string, visited: Set<string>, pages: number): string | null {
  if (new URL(next).origin !== context.feedUrl.origin) {
    return `the next page ${redactUrl(next)} is on another origin than ${context.feedUrl.origin}`;
  }
  if (visited.has(next)) return `the next page ${redactUrl(next)} was already read`;
  if (pages >= context.maxPages) {
    const cap = `the page cap of ${context.maxPages} was reached`;
    return `${cap} and later pages exist, so older releases were not read (raise maxPages)`;
  }
  return null;
}

/**
 * Reads the releases of `first` and of the pages that follow it through
 * `Link: rel="next"`, up to `maxPages` pages on the feed's own origin. When
 * pages are left unread, a warning names the reason.
 */
export async function collectGitHubReleases(
  context: FeedContext,
  first: FeedPage,
  signal?: AbortSignal,
): Promise<Release[]> {
  const releases = parseGitHubPage(first, context.logger);
  const visited = new Set([context.feedUrl.toString(), first.url]);
  let page = first;
  let pages = 1;
  let cachedPages = first.fromCache ? 1 : 0;

  for (let next = nextPageUrl(page.link, page.url); next !== null; next = nextPageUrl(page.link, page.url)) {
    const reason = stopReason(context, next, visited, pages);
    if (reason !== null) {
      context.logger.warn(`feed: stopped paging ${redactUrl(context.feedUrl)} after ${pages} pages because ${reason}`);
      break;
    }
    visited.add(next);
    page = await fetchFeedPage(context, next, signal);
    pages += 1;
    if (page.fromCache) cachedPages += 1;
    releases.push(...parseGitHubPage(page, context.logger));
  }

  context.logger.info(
    `feed: ${releases.length} releases from ${redactUrl(context.feedUrl)} in ${pages} pages (${cachedPages} not modified)`,
  );
  return releases;
}

/** Release feed that reads the GitHub Releases API, or any URL that returns the same JSON shape. */
export class GitHubReleasesFeed implements ReleaseFeed {
  readonly description: string;
  private readonly context: FeedContext;

  constructor(options: FeedOptions) {
    this.context = createFeedContext(options);
    this.description = `GitHub releases ${redactUrl(this.context.feedUrl)}`;
  }

  /** Lists every release on up to `maxPages` pages, in API order. */
  async listReleases(options: ListReleasesOptions = {}): Promise<Release[]> {
    this.context.logger.info(`feed: listing releases from ${redactUrl(this.context.feedUrl)}`);
    const first = await fetchFeedPage(this.context, this.context.feedUrl.toString(), options.signal);
    return collectGitHubReleases(this.context, first, options.signal);
  }
}
