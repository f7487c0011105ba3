import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../logger';
import { UpdateError } from '../errors';
import { parseTag } from '../versions';

/** Returns true when `value` is a normalized semver string usable as a folder name. */
export function isVersionName(value: string): boolean {
  return parseTag(value) === value;
}

const versionSchema = z.string().refine(isVersionName, 'expected a semver version such as 2.1.0');

const pendingSchema = z.discriminatedUnion('step', [
  z.object({ step: z.literal('staging'), version: versionSchema, stagingDir: z.string().min(1) }),
  z.object({
    step: z.literal('activated'),
    version: versionSchema,
    previous: versionSchema.nullable(),
    // Rollback target before the activation; restored when the new version fails. Older files lack it.
    priorPrevious: versionSchema.nullable().optional(),
  }),
]);

const storedStateSchema = z.object({
  current: versionSchema.nullable(),
  previous: versionSchema.nullable(),
  pending: pendingSchema.nullable(),
  highestVerified: versionSchema.nullable().optional(),
  updatedAt: z.string().optional(),
});

/** Contents of `state.json`. */
export type StoredState = z.infer<typeof storedStateSchema>;

/** Returns the state of a folder where nothing was ever installed. */
export function emptyState(): StoredState {
  return { current: null, previous: null, pending: null, highestVerified: null };
}

/**
 * `state.json` and its backup `state.json.bak`. Every write goes to a temp file
 * that is fsynced and renamed over the target, and the folder is fsynced, so a
 * crash leaves either the old or the new state, never a torn file. The backup
 * is written first with the same content, and it is read only when `state.json`
 * is damaged.
 */
export class StateFile {
  readonly path: string;
  readonly backupPath: string;

  constructor(
    path: string,
    private readonly logger: Logger,
  ) {
    this.path = path;
    this.backupPath = `${path}.bak`;
  }

  /** Reads the state. A missing file gives the empty state, and a damaged file falls back to the backup. */
  async read(): Promise<StoredState> {
    const main = await this.readOne(this.path);
    if (main.kind === 'missing') return emptyState();
    if (main.kind === 'valid') return main.state;

    this.logger.warn(`state file ${this.path} is damaged (${main.reason}); reading backup ${this.backupPath}`);
    const backup = await this.readOne(this.backupPath);
    if (backup.kind === 'valid') return backup.state;
    const backupReason = backup.kind === 'missing' ? 'it does not exist' : backup.reason;
    throw new UpdateError(
      'INSTALL_FAILED',
      `State file ${this.path} is damaged (${main.reason}), and its backup ${this.backupPath} cannot be used (${backupReason}). Delete both files to start over from the bundled backend. Installed versions stay on disk.`,
      { details: { file: this.path } },
    );
  }

  /** Writes the state atomically, backup first, and returns what was written. */
  async write(state: StoredState): Promise<StoredState> {
    const stored: StoredState = { ...state, updatedAt: new Date().toISOString() };
    const text = `${JSON.stringify(stored, null, 2)}\n`;
    await writeFileAtomic(this.backupPath, text);
    await writeFileAtomic(this.path, text);
    return stored;
  }

  /** Removes temp files left by writes that a crash interrupted, and returns how many. */
  async removeTempFiles(): Promise<number> {
    const folder = path.dirname(this.path);
    const prefix = path.basename(this.path);
    const names = await readdir(folder);
    const leftovers = names.filter((name) => name.startsWith(prefix) && name.includes('.tmp-'));
    for (const name of leftovers) await rm(path.join(folder, name), { force: true });
    return leftovers.length;
  }

  private async readOne(file: string): Promise<ReadOutcome> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      throw error;
    }

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return { kind: 'damaged', reason: `invalid JSON: ${(error as Error).message}` };
    }
    const parsed = storedStateSchema.safeParse(json);
    if (!parsed.success) return { kind: 'damaged', reason: z.prettifyError(parsed.error).replaceAll('\n', ' ') };
    return { kind: 'valid', state: parsed.data };
  }
}

type ReadOutcome = { kind: 'missing' } | { kind: 'damaged'; reason: string } | { kind: 'valid'; state: StoredState };

/** Writes `text` to a temp file next to `target`, fsyncs it, renames it over `target` and fsyncs the folder. */
export async function writeFileAtomic(target: string, text: string): Promise<void> {
  const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncFolder(path.dirname(target));
}

/** Flushes a folder's entries (the rename) to disk where the platform allows it. */
async function syncFolder(folder: string): Promise<void> {
  // Windows cannot open a folder for fsync, and some file systems reject it (EINVAL).
  // The rename is then as durable as the platform makes it.
  if (process.platform === 'win32') return;
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  }
}
