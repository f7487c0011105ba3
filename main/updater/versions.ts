import semver from 'semver';
import { UpdateError } from './errors';
import type { Release } from './feeds/types';
import type { NoUpdateReason } from './state';
import { silentLogger, type Logger } from '../logger';

/**
 * Parses a release tag into a normalized strict semver string, or returns null.
 *
 * The tag may start with exactly one lowercase `v`. An uppercase `V` is not a
 * prefix, so `V1.2.3` is null, as it is for semver's own strict grammar. The
 * rest must be strict semver 2.0.0 with no whitespace: tags are never coerced
 * or loosely cleaned, so `vv0.31.0`, `v1.0.0.1`, `release-2024-01` and
 * `untagged-…` are all null. Build metadata stays in the result
 * (`v2.34.0+3006da5` gives `2.34.0+3006da5`) but never affects precedence.
 */
export function parseTag(tag: string): string | null {
  if (/\s/.test(tag)) return null;

  const body = tag.startsWith('v') ? tag.slice(1) : tag;
  // semver's strict grammar accepts its own optional `v`, which would let `vv1.0.0` through.
  if (body.startsWith('v')) return null;

  const parsed = semver.parse(body);
  if (parsed === null) return null;

  return parsed.build.length > 0 ? `${parsed.version}+${parsed.build.join('.')}` : parsed.version;
}

/**
 * Compares two versions by semver precedence: negative when `a` is lower,
 * 0 when equal (build metadata ignored), positive when higher. Both must parse
 * with parseTag.
 */
export function compareVersions(a: string, b: string): number {
  const left = parseTag(a);
  const right = parseTag(b);
  if (left === null || right === null) {
    const bad = left === null ? a : b;
    throw new UpdateError('INVALID_INPUT', `Invalid version "${bad}": expected semver such as 2.1.0 or v2.1.0.`);
  }
  return semver.compare(left, right);
}

export interface SelectOptions {
  /** Installed version, or `0.0.0` when nothing is installed. */
  currentVersion: string;
  /** Whether every prerelease is eligible. */
  allowPrerelease: boolean;
  /** Whether the highest eligible version is offered even when it is lower than the installed one. */
  allowDowngrade?: boolean;
  /**
   * Prerelease channel such as `beta`. Prereleases whose first prerelease
   * identifier equals the channel (compared without case) become eligible.
   */
  channel?: string | null;
  logger?: Logger;
}

export type Selection =
  | { kind: 'update'; release: Release; version: string }
  | { kind: 'none'; reason: NoUpdateReason; latestVersion: string | null };

interface Candidate {
  release: Release;
  version: string;
  prerelease: boolean;
}

function parseCurrentVersion(currentVersion: string): string {
  const current = parseTag(currentVersion);
  if (current === null) {
    throw new UpdateError(
      'INVALID_INPUT',
      `Invalid current version "${currentVersion}": expected semver such as 2.0.0. ` +
        'Check the installed version folder or the bundled version.',
      { details: { currentVersion } },
    );
  }
  return current;
}

/** Turns the feed's releases into parsed candidates, dropping drafts and skipping unparsable tags. */
function toCandidates(releases: Release[], logger: Logger): Candidate[] {
  const candidates: Candidate[] = [];
  for (const release of releases) {
    if (release.draft) continue;

    const version = parseTag(release.tag);
    if (version === null) {
      const reason = `its tag "${release.tag}" is not a semver version`;
      logger.warn(`versions: skipped release "${release.name}" because ${reason}`);
      continue;
    }
    const prerelease = release.prerelease || semver.prerelease(version) !== null;
    candidates.push({ release, version, prerelease });
  }
  return candidates;
}

function isEligible(candidate: Candidate, options: SelectOptions): boolean {
  if (!candidate.prerelease || options.allowPrerelease) return true;
  if (!options.channel) return false;

  const first = semver.prerelease(candidate.version)?.[0];
  return first !== undefined && String(first).toLowerCase() === options.channel.toLowerCase();
}

/** Returns the candidate with the highest precedence; the first one listed wins a tie. */
function highest(candidates: Candidate[]): Candidate | null {
  let best: Candidate | null = null;
  for (const candidate of candidates) {
    if (best === null || semver.gt(candidate.version, best.version)) best = candidate;
  }
  return best;
}

/**
 * Selects the release to offer: the highest eligible version by semver
 * precedence, whatever the order or dates in the feed.
 *
 * Drafts are dropped and tags that are not versions are skipped with one
 * warning each (the tag decides, never the release name). A release is a
 * prerelease when its flag is set or its version has a prerelease part. A
 * version equal in precedence to the current one is never an update, so build
 * metadata alone never makes one. A lower version is offered only with
 * `allowDowngrade`. Throws INVALID_INPUT when `currentVersion` is not semver.
 */
export function selectRelease(releases: Release[], options: SelectOptions): Selection {
  const logger = options.logger ?? silentLogger;
  const current = parseCurrentVersion(options.currentVersion);

  const eligible = toCandidates(releases, logger).filter((candidate) => isEligible(candidate, options));
  const best = highest(eligible);
  if (best === null) {
    logger.debug(`versions: no eligible release among ${releases.length} listed`);
    return { kind: 'none', reason: 'no-eligible-release', latestVersion: null };
  }

  const isNewer = semver.gt(best.version, current);
  const isDowngrade = options.allowDowngrade === true && semver.lt(best.version, current);
  if (isNewer || isDowngrade) {
    return { kind: 'update', release: best.release, version: best.version };
  }
  return { kind: 'none', reason: 'up-to-date', latestVersion: best.version };
}
