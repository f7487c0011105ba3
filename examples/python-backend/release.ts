/**
 * Builds a release of the sample backend: zip, tar.gz and SHA256SUMS.
 *
 *   npx tsx examples/python-backend/release.ts <version> [outDir]
 *
 * outDir defaults to release/<version> under the current folder. Use one folder per
 * release, because SHA256SUMS lists only the archives of this run.
 */
import path from 'node:path';
import { packSampleBackend } from '../../main/release/pack-sample';
import { UpdateError } from '../../main/updater/errors';

const USAGE = 'Usage: npx tsx examples/python-backend/release.ts <version> [outDir]';

async function main(args: string[]): Promise<number> {
  const [version, outDir] = args;
  if (version === undefined || version === '' || args.length > 2) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }

  const release = await packSampleBackend({ version, outDir: outDir ?? path.join('release', version) });
  for (const file of release.files) {
    const name = path.basename(file);
    process.stdout.write(`${release.sha256[name]}  ${file}\n`);
  }
  process.stdout.write(`checksums: ${release.sumsFile}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    const code = error instanceof UpdateError ? `${error.code}: ` : '';
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`release failed: ${code}${message}\n`);
    process.exitCode = 1;
  },
);
