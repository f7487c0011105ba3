import fs from 'node:fs/promises';
import path from 'node:path';
import { UpdateError } from '../updater/errors';
import { sha256File } from '../updater/verify';

/** Name of the checksum list that the updater reads. */
export const SUMS_FILE_NAME = 'SHA256SUMS';

/** Lists the regular files of a release folder by name, sorted; hidden files and `.part` files are left out. */
export async function listReleaseFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new UpdateError('INVALID_INPUT', `Cannot read release folder ${dir} (${error.code ?? error.message}).`);
  });
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && !entry.name.endsWith('.part'))
    .map((entry) => entry.name)
    .sort();
}

/**
 * Writes `SHA256SUMS` in a release folder: one `<sha256>  <name>` line (GNU
 * coreutils format) for every file except the list itself. Returns the
 * digests by file name.
 */
export async function writeChecksums(dir: string): Promise<Record<string, string>> {
  const folder = path.resolve(dir);
  const names = (await listReleaseFiles(folder)).filter((name) => name !== SUMS_FILE_NAME);
  if (names.length === 0) throw new UpdateError('INVALID_INPUT', `Release folder ${folder} has no files to list in ${SUMS_FILE_NAME}.`);

  const awkward = names.find((name) => /[\r\n\\]/.test(name));
  if (awkward !== undefined) throw new UpdateError('INVALID_INPUT', `Release file name ${JSON.stringify(awkward)} contains a line break or backslash; rename it.`);

  const digests: Record<string, string> = {};
  for (const name of names) digests[name] = await sha256File(path.join(folder, name));
  const lines = names.map((name) => `${digests[name]}  ${name}\n`);
  await fs.writeFile(path.join(folder, SUMS_FILE_NAME), lines.join(''));
  return digests;
}
