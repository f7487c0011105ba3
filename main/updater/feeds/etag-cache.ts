/** A feed page stored with the ETag that the server sent for it. */
export interface CachedPage {
  etag: string;
  /** Parsed JSON body. */
  json: unknown;
  /** Raw `Link` header, or null. */
  link: string | null;
  /** URL after redirects, the base for relative URLs in the body. */
  url: string;
}

/** Default number of pages kept, enough for a few feeds at the default page cap. */
const DEFAULT_MAX_ENTRIES = 64;

/**
 * In-memory store of feed pages by request URL, for conditional requests
 * (`If-None-Match`). A long-running process passes one instance to every feed
 * it creates, so a repeated check costs 304 responses instead of full pages.
 * GitHub's REST API best-practices page states that a 304 to an authenticated
 * request does not count against the primary rate limit. The oldest entry is
 * evicted past `maxEntries`.
 */
export class EtagCache {
  /** Page requests that consulted the cache. */
  requests = 0;
  /** 304 responses served from a cached page. */
  hits = 0;

  private readonly entries = new Map<string, CachedPage>();

  constructor(private readonly maxEntries = DEFAULT_MAX_ENTRIES) {}

  /** Returns the cached page for `url`, if any, and counts one request. */
  lookup(url: string): CachedPage | undefined {
    this.requests += 1;
    return this.entries.get(url);
  }

  /** Returns the cached page for `url` after a 304, and counts one hit. */
  reuse(url: string): CachedPage | undefined {
    const page = this.entries.get(url);
    if (page !== undefined) this.hits += 1;
    return page;
  }

  /** Stores a page, replacing any older copy of the same URL. */
  store(url: string, page: CachedPage): void {
    this.entries.delete(url);
    this.entries.set(url, page);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Forgets a URL, for example after the server stopped sending an ETag. */
  delete(url: string): void {
    this.entries.delete(url);
  }

  get size(): number {
    return this.entries.size;
  }
}
