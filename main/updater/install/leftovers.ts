import { readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../logger';
import { isInside } from '../archive/paths';
import { exists } from './checks';
import { isVersionName } from './state-file';

/** Prefix of a version folder moved aside while a new copy of the same version replaces it. */
export const REPLACED_PREFIX = '.replaced-';
/** Prefix of a folder that a cross-device copy is writing. */
export const PARTIAL_PREFIX = '.partial-';
/** Prefix of a pruned version folder whose delete has started. */
export const REMOVING_PREFIX = '.removing-';

/** Returns the version of a `.replaced-<version>-<hex>` folder name, or null. */
export function replacedVersion(name: string): string | null {
  const match = /^\.replaced-(.+)-[0-9a-f]{8}$/.exec(name);
  const version = match?.[1];
  return version !== undefined && isVersionName(version) ? version : null;
}

/**
 * Finishes replacements and deletes that a crash interrupted. A replaced
 * folder whose version folder is missing is moved back. Otherwise it is
 * deleted, as are partial copies and folders that pruning had started to
 * delete. Returns the versions that were moved back.
 */
export async function restoreReplacedFolders(versionsDir: string, logger: Logger): Promise<string[]> {
  const restored: string[] = [];
  for (const name of await readdir(versionsDir)) {
    const folder = path.join(versionsDir, name);
    if (name.startsWith(PARTIAL_PREFIX) || name.startsWith(REMOVING_PREFIX)) {
      await rm(folder, { recursive: true, force: true });
      logger.info(`recovery removed unfinished ${name.startsWith(PARTIAL_PREFIX) ? 'copy' : 'delete'} ${folder}`);
      continue;
    }

    const version = replacedVersion(name);
    if (version === null) continue;
    const original = path.join(versionsDir, version);
    if (await exists(original)) {
      await rm(folder, { recursive: true, force: true });
      logger.info(`recovery removed replaced copy ${folder}`);
    } else {
      await rename(folder, original);
      restored.push(version);
      logger.warn(`recovery moved ${folder} back to ${original}: its replacement never arrived`);
    }
  }
  return restored;
}

/** Returns the name of a staging folder for `version`: `<version>-<8 hex digits>`. */
export function stagingFolderName(version: string, suffix: string): string {
  return `${version}-${suffix}`;
}

/**
 * Removes staging folders (named `<version>-<8 hex digits>`) left by
 * interrupted installs. Other names are left alone, because the staging
 * folder may be one that the user configured. Returns how many were removed.
 */
export async function removeStagingLeftovers(stagingDir: string, logger: Logger): Promise<number> {
  const names = (await readdir(stagingDir)).filter(isStagingFolderName);
  for (const name of names) {
    const folder = path.join(stagingDir, name);
    await rm(folder, { recursive: true, force: true, maxRetries: 3 });
    logger.info(`recovery removed staging leftover ${folder}`);
  }
  return names.length;
}

/** Removes a staging folder recorded in the journal, but only when it lies inside `stagingRoot`. */
export async function removeRecordedStaging(stagingRoot: string, recorded: string, logger: Logger): Promise<void> {
  const resolved = path.resolve(recorded);
  if (resolved === path.resolve(stagingRoot) || !isInside(path.resolve(stagingRoot), resolved)) {
    logger.warn(`recovery ignored staging folder ${recorded} from the journal: it is not inside ${stagingRoot}`);
    return;
  }
  await rm(resolved, { recursive: true, force: true, maxRetries: 3 });
}

function isStagingFolderName(name: string): boolean {
  const match = /^(.+)-[0-9a-f]{8}$/.exec(name);
  return match?.[1] !== undefined && isVersionName(match[1]);
}
