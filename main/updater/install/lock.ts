import { randomBytes, randomUUID } from 'node:crypto';
import { link, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { Logger } from '../../logger';
import { UpdateError } from '../errors';

/** Contents of a lock file. */
interface LockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
  token: string;
}

/** Tokens of the locks this process holds, to tell its own lock from a dead process with a reused pid. */
const heldTokens = new Set<string>();

/** A lock file without readable content is treated as being written for this long. */
const UNREADABLE_GRACE_MS = 5_000;

const TAKEOVER_ATTEMPTS = 3;

/**
 * Takes the lock file at `lockPath` (created with `wx`, holding pid, host,
 * start time and a random token) and returns the function that releases it.
 * A lock whose process is dead is taken over, and a live one throws LOCKED.
 */
export async function acquireLock(lockPath: string, logger: Logger): Promise<() => Promise<void>> {
  const owner: LockOwner = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), token: randomUUID() };

  for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt += 1) {
    if (await tryCreate(lockPath, owner)) {
      heldTokens.add(owner.token);
      logger.info(`lock taken ${lockPath} by process ${owner.pid}`);
      return () => releaseLock(lockPath, owner, logger);
    }

    const existing = await readOwner(lockPath);
    if (existing === 'missing') continue;
    if (existing === 'unreadable') {
      if (await isRecent(lockPath)) throw lockedError(lockPath, 'a process that is starting');
    } else if (isAlive(existing)) {
      throw lockedError(lockPath, `process ${existing.pid} on ${existing.hostname} (since ${existing.startedAt})`);
    }
    await takeOver(lockPath, existing, logger);
  }
  throw lockedError(lockPath, 'another process that took it at the same moment');
}

async function tryCreate(lockPath: string, owner: LockOwner): Promise<boolean> {
  try {
    await writeFile(lockPath, JSON.stringify(owner), { flag: 'wx', mode: 0o644 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new UpdateError('INSTALL_FAILED', `Lock file ${lockPath} cannot be created: ${(error as Error).message}`, { cause: error });
  }
}

async function readOwner(lockPath: string): Promise<LockOwner | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.token !== 'string') return 'unreadable';
    return { pid: value.pid, hostname: String(value.hostname ?? ''), startedAt: String(value.startedAt ?? ''), token: value.token };
  } catch {
    return 'unreadable';
  }
}

/**
 * Returns whether the owner may still run. A process on another host cannot be
 * checked, so its lock counts as live.
 * NOTE: a dead owner whose pid was reused by an unrelated process looks live,
 * so the LOCKED message names the file to delete.
 */
function isAlive(owner: LockOwner): boolean {
  if (owner.hostname !== os.hostname()) return true;
  if (owner.pid === process.pid) return heldTokens.has(owner.token);
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isRecent(lockPath: string): Promise<boolean> {
  try {
    const info = await stat(lockPath);
    return Date.now() - info.mtimeMs < UNREADABLE_GRACE_MS;
  } catch {
    return false;
  }
}

/**
 * Moves a stale lock aside and deletes it. When two processes take over the
 * same stale lock at once, the one that moved a lock that is no longer the
 * stale one puts it back and reports LOCKED.
 */
async function takeOver(lockPath: string, stale: LockOwner | 'unreadable', logger: Logger): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }

  const moved = await readOwner(aside);
  const same = stale === 'unreadable' ? moved === 'unreadable' : typeof moved === 'object' && moved.token === stale.token;
  if (!same) {
    // link() fails when a third process created a lock meanwhile, which then stays in place.
    await link(aside, lockPath).catch(() => undefined);
    await rm(aside, { force: true });
    throw lockedError(lockPath, 'another process that took it at the same moment');
  }

  await rm(aside, { force: true });
  const from = stale === 'unreadable' ? 'an unreadable lock' : `process ${stale.pid}, which is no longer running`;
  logger.warn(`lock ${lockPath} taken over from ${from}`);
}

async function releaseLock(lockPath: string, owner: LockOwner, logger: Logger): Promise<void> {
  if (!heldTokens.delete(owner.token)) return;
  const current = await readOwner(lockPath);
  if (typeof current === 'object' && current.token === owner.token) {
    await rm(lockPath, { force: true });
    logger.info(`lock released ${lockPath}`);
    return;
  }
  logger.warn(`lock ${lockPath} was taken over by another process before release; left in place`);
}

function lockedError(lockPath: string, holder: string): UpdateError {
  return new UpdateError(
    'LOCKED',
    `Backend folder is locked by ${holder}. Close the other copy of the app or updater and try again. If none runs, delete ${lockPath}.`,
    { details: { lock: lockPath } },
  );
}
