/**
 * Runs the real minisign tool (Debian's `minisign` package) for the
 * cross-checks. Where minisign is missing, the suites that need it fail with
 * a clear message, except on a developer machine (CI unset), where they are
 * skipped with a printed reason.
 */
import { execFile, spawnSync } from 'node:child_process';
import { describe, it } from 'vitest';

/** Version line of the installed minisign, or null when it is not on PATH. */
export const MINISIGN_VERSION: string | null = (() => {
  const result = spawnSync('minisign', ['-v'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
})();

/** Declares a suite that needs minisign: it runs when minisign exists, fails under CI without it, and is skipped otherwise. */
export function describeWithMinisign(name: string, body: () => void): void {
  if (MINISIGN_VERSION !== null) {
    describe(name, body);
    return;
  }
  if (!process.env.CI) {
    console.warn(`Skipping "${name}": the minisign binary is not installed (apt-get install minisign). CI installs it and runs these tests.`);
    describe.skip(name, body);
    return;
  }
  describe(name, () => {
    it('finds the minisign binary', () => {
      throw new Error('minisign is not installed, but CI is set: .ci/run must install Debian\'s minisign package before "npm test".');
    });
  });
}

/** Output of one minisign run. */
export interface MinisignRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs minisign with `args`, writing `input` (such as a password and its repeat) to its standard input. */
export function runMinisign(args: string[], input = ''): Promise<MinisignRun> {
  return new Promise((resolve, reject) => {
    const child = execFile('minisign', args, { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ status: error ? Number(error.code) : 0, stdout, stderr });
    });
    // minisign reads standard input only when it prompts for a password, so an early exit closes the pipe.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
