import semver from 'semver';
import type { UpdaterConfig } from '../config';
import type { Logger } from '../logger';
import { selectAsset, type AssetChoice } from './assets';
import type { Release, ReleaseFeed } from './feeds/types';
import type { NoUpdateReason, UpdateInfo } from './state';
import { selectRelease } from './versions';

/** Version assumed when nothing is installed, so that any release is an update. */
export const NOTHING_INSTALLED_VERSION = '0.0.0';

export interface FoundUpdate {
  info: UpdateInfo;
  choice: AssetChoice;
  release: Release;
}

export type CheckOutcome =
  | { kind: 'update'; found: FoundUpdate }
  | { kind: 'none'; currentVersion: string; latestVersion: string | null; reason: NoUpdateReason };

export interface CheckContext {
  feed: ReleaseFeed;
  config: UpdaterConfig;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * Lists the feed's releases, selects the highest eligible version above
 * `currentVersion` and the one archive for the configured platform.
 */
export async function findUpdate(context: CheckContext, currentVersion: string | null): Promise<CheckOutcome> {
  const { config, logger } = context;
  const current = currentVersion ?? NOTHING_INSTALLED_VERSION;
  const releases = await context.feed.listReleases({ signal: context.signal });
  const selection = selectRelease(releases, {
    currentVersion: current,
    allowPrerelease: config.allowPrerelease,
    allowDowngrade: config.allowDowngrade,
    channel: config.channel,
    logger,
  });
  if (selection.kind === 'none') {
    return { kind: 'none', currentVersion: current, latestVersion: selection.latestVersion, reason: selection.reason };
  }

  const { release, version } = selection;
  const choice = selectAsset(release, { platform: config.platform as NodeJS.Platform, arch: config.arch });
  const info: UpdateInfo = {
    version,
    currentVersion: current,
    releaseName: release.name || release.tag,
    releaseNotes: release.notes,
    publishedAt: release.publishedAt,
    prerelease: release.prerelease || semver.prerelease(version) !== null,
    assetName: choice.archive.name,
    assetSize: choice.archive.size,
    downloadUrl: choice.archive.url,
  };
  return { kind: 'update', found: { info, choice, release } };
}
