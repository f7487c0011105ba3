import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { resolveEntryPath } from '../archive';
import { CancelledError, isCancellation, UpdateError } from '../errors';
import type { PendingStep } from '../install';
import { isVersionName } from './state-file';

const TOP_LEVEL_NAMES_SHOWN = 20;

/** Throws INVALID_INPUT unless `version` is a normalized semver version, which is safe as a folder name. */
export function assertVersionName(version: string): void {
  if (isVersionName(version)) return;
  throw new UpdateError('INVALID_INPUT', `Version "${version}" is not a semver version such as 2.1.0 (no leading "v").`, { details: { version } });
}

/**
 * Throws ENTRY_POINT_MISSING unless `entryPoint` is a file in the extracted
 * `folder`. The message names the archive and lists the top-level names found.
 */
export async function assertEntryPoint(folder: string, entryPoint: string, archive: string, strippedTopFolder: string | null): Promise<void> {
  if (await isFile(resolveEntryPath(folder, entryPoint))) return;

  const names = (await readdir(folder)).sort();
  const listed = names.slice(0, TOP_LEVEL_NAMES_SHOWN).join(', ');
  const more = names.length > TOP_LEVEL_NAMES_SHOWN ? `, and ${names.length - TOP_LEVEL_NAMES_SHOWN} more` : '';
  const found = names.length === 0 ? 'nothing' : `${listed}${more}`;
  const where = strippedTopFolder === null ? 'at its top level' : `inside its top folder "${strippedTopFolder}"`;
  throw new UpdateError(
    'ENTRY_POINT_MISSING',
    `Archive ${path.basename(archive)} has no ${entryPoint} ${where}. Found: ${found}. The release must contain ${entryPoint} at its top level or in its single top folder. Otherwise, configure the entry point that it uses.`,
    { details: { file: archive, entryPoint, found } },
  );
}

/** Returns INVALID_STATE for an operation that would change the active version's folder or activate it twice. */
export function activeVersionError(version: string, operation: 'replace' | 'activate'): UpdateError {
  const action = operation === 'replace' ? 'cannot be replaced while it is active' : 'is already active';
  return new UpdateError('INVALID_STATE', `Version ${version} ${action}. Install a different version, or roll back first.`, { details: { version } });
}

/** Returns INVALID_STATE for an operation that must wait until the journaled step is finished. */
export function pendingError(pending: PendingStep): UpdateError {
  return new UpdateError(
    'INVALID_STATE',
    `Another install is unfinished (${describePending(pending)}). Confirm or roll back version ${pending.version}, or restart so that recovery finishes it.`,
    { details: { step: pending.step, version: pending.version } },
  );
}

/** Describes a journal entry for messages. */
export function describePending(pending: PendingStep | null): string {
  if (pending === null) return 'none';
  return pending.step === 'staging' ? `staging ${pending.version}` : `${pending.version} activated, not yet confirmed`;
}

/** Returns whether `file` is a regular file, following links. */
export async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Returns whether anything exists at `file`. */
export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Passes UpdateError and cancellations through, and maps other errors to DISK_FULL or INSTALL_FAILED. */
export function toInstallError(error: unknown, operation: string, backendDir: string): unknown {
  if (error instanceof UpdateError || error instanceof CancelledError) return error;
  if (isCancellation(error)) return new CancelledError();

  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new UpdateError('DISK_FULL', `No space left on the disk of ${backendDir} during ${operation}. Free up space and try again.`, { cause: error });
  }
  return new UpdateError('INSTALL_FAILED', `The ${operation} step failed: ${message}. Check that ${backendDir} is writable, then try again.`, {
    details: { operation, code: code ?? null },
    cause: error,
  });
}
