import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { UpdateError } from '../updater/errors';

/** Environment variable that carries a secret key's password, for CI. */
export const PASSWORD_ENV = 'BACKEND_UPDATER_KEY_PASSWORD';

/** Reads a password on the terminal without echoing it. */
async function promptHidden(prompt: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const reader = createInterface({ input: process.stdin, output, terminal: true });
  process.stderr.write(prompt);
  muted = true;
  try {
    return await reader.question('');
  } finally {
    reader.close();
    process.stderr.write('\n');
  }
}

async function readStdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
}

/**
 * Returns the password for a secret key, from the first source that has one:
 * `--password-file` (its first line), the BACKEND_UPDATER_KEY_PASSWORD
 * variable, a hidden prompt on a terminal (asked twice when `confirm` is
 * set), or the first line of standard input. Throws INVALID_INPUT when none
 * gives a non-empty password.
 */
export async function readPassword(options: { file?: string; confirm: boolean; purpose: string }): Promise<string> {
  let password: string | undefined;
  if (options.file !== undefined) {
    password = (await readFile(options.file, 'utf8')).split(/\r?\n/)[0];
  } else if (process.env[PASSWORD_ENV] !== undefined) {
    password = process.env[PASSWORD_ENV];
  } else if (process.stdin.isTTY) {
    password = await promptHidden(`Password for ${options.purpose}: `);
    if (options.confirm && (await promptHidden('Password (again): ')) !== password) {
      throw new UpdateError('INVALID_INPUT', 'The two passwords differ; run the command again.');
    }
  } else {
    password = (await readStdinLines())[0];
  }
  if (!password) {
    throw new UpdateError('INVALID_INPUT', `No password for ${options.purpose}: pass --password-file FILE, set ${PASSWORD_ENV}, or type it on a terminal.`);
  }
  return password;
}
