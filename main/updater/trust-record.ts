/**
 * The trust record, `<home>/trust.json`: the highest version whose signed
 * release ever verified, and when a check last succeeded. It sits outside
 * `<home>/backend/` so that removing or replacing the backend folders does
 * not reset it. It protects against two attacks that valid signatures alone
 * do not stop: serving an older signed release again (a downgrade) and
 * hiding new releases (a freeze).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { z } from 'zod';
import { UpdateError } from './errors';
import { parseTag } from './versions';

/** File name of the trust record inside the data folder. */
export const TRUST_RECORD_FILE = 'trust.json';

const DAY_MS = 24 * 60 * 60 * 1000;

const recordSchema = z.object({
  highestVerifiedVersion: z.string().refine((value) => parseTag(value) === value).nullable().default(null),
  lastSuccessfulCheckAt: z.string().datetime().nullable().default(null),
  firstCheckAt: z.string().datetime().nullable().default(null),
});

/** Contents of the trust record; ISO 8601 times. */
export type TrustRecord = z.infer<typeof recordSchema>;

/** Reads and updates one trust record file; writes go to a temporary file that is then renamed. */
export class TrustRecordStore {
  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** Returns the store for a data folder. */
  static forHome(home: string): TrustRecordStore {
    return new TrustRecordStore(path.join(home, TRUST_RECORD_FILE));
  }

  /**
   * Reads the record; a missing file is an empty record. A file that does not
   * parse throws INVALID_STATE instead of being reset, because resetting it
   * would silently allow downgrades.
   */
  async read(): Promise<TrustRecord> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return recordSchema.parse({});
      throw error;
    }
    try {
      return recordSchema.parse(JSON.parse(text));
    } catch (error) {
      throw new UpdateError('INVALID_STATE', `Trust record ${this.file} is invalid (${(error as Error).message}). It contains the highest verified version, so restore it from a backup, or delete it to start a new record.`, {
        retryable: false,
        details: { file: this.file },
      });
    }
  }

  /** Records a check attempt: the first one ever is kept, so a freeze is noticed even before any check succeeds. */
  async recordCheckAttempt(now = new Date()): Promise<TrustRecord> {
    const record = await this.read();
    if (record.firstCheckAt !== null) return record;
    return this.write({ ...record, firstCheckAt: now.toISOString() });
  }

  /** Records a check that reached the feed and finished. */
  async recordSuccessfulCheck(now = new Date()): Promise<TrustRecord> {
    const record = await this.read();
    return this.write({ ...record, firstCheckAt: record.firstCheckAt ?? now.toISOString(), lastSuccessfulCheckAt: now.toISOString() });
  }

  /** Raises the highest verified version to `version` when it is higher. */
  async recordVerified(version: string): Promise<TrustRecord> {
    const record = await this.read();
    const highest = record.highestVerifiedVersion;
    if (highest !== null && !semver.gt(version, highest)) return record;
    return this.write({ ...record, highestVerifiedVersion: version });
  }

  private async write(record: TrustRecord): Promise<TrustRecord> {
    const temporary = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
      await rename(temporary, this.file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    return record;
  }
}

/** How long ago a check last succeeded, against the configured limit. */
export interface CheckFreshness {
  /** True when no check has succeeded for more than `maxDays` days. */
  stale: boolean;
  /** Whole days since the last successful check, or since the first attempt when none succeeded; null before any check. */
  days: number | null;
  lastSuccessfulCheckAt: string | null;
}

/** Computes whether checks have failed for too long; `maxDays` null turns the warning off. */
export function checkFreshness(record: TrustRecord, maxDays: number | null, now = new Date()): CheckFreshness {
  const since = record.lastSuccessfulCheckAt ?? record.firstCheckAt;
  if (since === null) return { stale: false, days: null, lastSuccessfulCheckAt: null };
  const elapsed = now.getTime() - Date.parse(since);
  const days = Math.floor(elapsed / DAY_MS);
  return { stale: maxDays !== null && elapsed > maxDays * DAY_MS, days, lastSuccessfulCheckAt: record.lastSuccessfulCheckAt };
}

/**
 * Throws DOWNGRADE_REJECTED when `version` is lower than the highest version
 * ever verified, unless the user allowed downgrades explicitly.
 */
export function assertNotBelowVerified(record: TrustRecord, version: string, allowDowngrade: boolean): void {
  const highest = record.highestVerifiedVersion;
  if (highest === null || allowDowngrade || !semver.lt(version, highest)) return;
  throw new UpdateError(
    'DOWNGRADE_REJECTED',
    `Version ${version} is lower than ${highest}, the highest version whose signed release was already verified here. An old release is being offered as new; it is not installed. To go back on purpose, use "rollback" or set allowDowngrade.`,
    { retryable: false, details: { version, highestVerified: highest } },
  );
}
