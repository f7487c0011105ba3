import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';
import { normalizeDigest } from '../updater/checksums';
import { downloadFile } from '../updater/download';
import { hostOf } from '../updater/http';
import { UpdateError } from '../updater/errors';
import { createFeed } from '../updater/feeds';
import type { Release } from '../updater/feeds/types';
import { compareVersions, parseTag } from '../updater/versions';
import { lintReleaseFolder, type LintOptions, type LintReport } from './lint-folder';

/** Options of `lintPublishedRelease`. */
export interface PublishedLintOptions extends Omit<LintOptions, 'tagVersion'> {
  feedUrl: string;
  /** Version to check; the highest published version when absent. */
  version?: string | null;
  token?: string;
  logger: Logger;
  idleTimeoutMs?: number;
}

function pickRelease(releases: Release[], version: string | null | undefined, feedUrl: string): Release {
  const published = releases.filter((release) => !release.draft && parseTag(release.tag) !== null);
  if (version) {
    const match = published.find((release) => parseTag(release.tag) === version);
    if (!match) throw new UpdateError('INVALID_INPUT', `Feed ${feedUrl} has no published release ${version}. Tags found: ${published.map((release) => release.tag).join(', ') || 'none'}.`);
    return match;
  }
  const sorted = [...published].sort((a, b) => compareVersions(b.tag, a.tag));
  const highest = sorted[0];
  if (!highest) throw new UpdateError('INVALID_INPUT', `Feed ${feedUrl} has no release with a semantic version tag.`);
  return highest;
}

/**
 * Lints a release as a feed publishes it. Every asset of the release (the
 * highest version, or `version`) is downloaded into a temporary folder and
 * checked against the feed's own digest. The folder lint then runs with the
 * tag's version, so a tag that disagrees with the signed files is found.
 */
export async function lintPublishedRelease(options: PublishedLintOptions): Promise<LintReport & { tag: string }> {
  const feed = createFeed({ url: options.feedUrl, token: options.token, maxPages: 10, idleTimeoutMs: options.idleTimeoutMs ?? 30_000, logger: options.logger });
  const release = pickRelease(await feed.listReleases(), options.version, options.feedUrl);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'backend-updater-release-check-'));
  try {
    const digestProblems: LintReport['problems'] = [];
    for (const asset of release.assets) {
      const result = await downloadFile({
        url: asset.url,
        destination: path.join(dir, path.basename(asset.name)),
        expectedSize: asset.size,
        // The token goes only to the feed's host; httpRequest drops it on a redirect elsewhere.
        ...(options.token ? { authorization: `Bearer ${options.token}`, authHost: hostOf(options.feedUrl) } : {}),
        logger: options.logger,
        idleTimeoutMs: options.idleTimeoutMs,
      });
      if (asset.digest !== null && normalizeDigest(asset.digest, `feed digest of ${asset.name}`) !== result.sha256) {
        digestProblems.push({ level: 'error', code: 'CHECKSUM_MISMATCH', file: asset.name, message: `The feed's digest of ${asset.name} does not match the downloaded file (${result.sha256}).` });
      }
    }
    const report = await lintReleaseFolder(dir, { ...options, tagVersion: parseTag(release.tag) });
    return { ...report, problems: [...digestProblems, ...report.problems], tag: release.tag };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
