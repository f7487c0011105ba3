/** One downloadable file of a release. */
export interface ReleaseAsset {
  name: string;
  /** Size in bytes, or null when the feed gives none. */
  size: number | null;
  /** URL that serves the bytes. */
  url: string;
  /** `sha256:<hex>` style digest from the feed, or null. */
  digest: string | null;
}

/** A release as every feed type returns it, before version parsing. */
export interface Release {
  tag: string;
  name: string;
  /** Release notes in Markdown. */
  notes: string;
  draft: boolean;
  prerelease: boolean;
  /** ISO 8601 date, or null. */
  publishedAt: string | null;
  assets: ReleaseAsset[];
}

export interface ListReleasesOptions {
  signal?: AbortSignal;
}

/** A source of releases: the GitHub Releases API, a compatible URL, or a static manifest. */
export interface ReleaseFeed {
  /** Human-readable description for logs, without any token. */
  readonly description: string;
  listReleases(options?: ListReleasesOptions): Promise<Release[]>;
}
