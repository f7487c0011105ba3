import type { Logger } from '../logger';
import { UpdateError } from './errors';
import type { ListReleasesOptions, Release, ReleaseFeed } from './feeds/types';

/**
 * Wraps a feed so that after a RATE_LIMITED error no request reaches it
 * before the reset time in the error's `details.resetAt`. Until then every
 * listing fails at once with RATE_LIMITED and the same reset time, whichever
 * surface made the request (menu, scheduler, HTTP API). A reset time in the
 * past or missing blocks nothing.
 */
export class RateLimitedFeed implements ReleaseFeed {
  readonly description: string;
  private blocked: { resetAt: number; error: UpdateError } | null = null;

  constructor(
    private readonly feed: ReleaseFeed,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.description = feed.description;
  }

  async listReleases(options?: ListReleasesOptions): Promise<Release[]> {
    this.throwIfBlocked();
    try {
      return await this.feed.listReleases(options);
    } catch (error) {
      this.record(error);
      throw error;
    }
  }

  private record(error: unknown): void {
    if (!(error instanceof UpdateError) || error.code !== 'RATE_LIMITED') return;
    const resetAt = Date.parse(String(error.details?.resetAt ?? ''));
    if (Number.isNaN(resetAt) || resetAt <= this.now()) return;
    this.blocked = { resetAt, error };
    this.logger.warn(`feed ${this.description} is rate limited; no request until ${new Date(resetAt).toISOString()}`);
  }

  private throwIfBlocked(): void {
    if (this.blocked === null) return;
    if (this.now() >= this.blocked.resetAt) {
      this.blocked = null;
      return;
    }
    const resetAt = new Date(this.blocked.resetAt).toISOString();
    throw new UpdateError('RATE_LIMITED', `Feed ${this.description} is rate limited until ${resetAt}, so no request was sent. Try again after ${resetAt}.`, {
      details: { ...this.blocked.error.details, resetAt, sent: false },
    });
  }
}
