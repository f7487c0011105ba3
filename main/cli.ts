import { checkCommand, downloadCommand, installCommand, rollbackCommand, statusCommand } from './cli/commands';
import { printError } from './cli/output';
import { releaseCommand, RELEASE_USAGE } from './cli/release';
import { serveCommand } from './cli/serve';
import { demoCommand } from './demo/demo';

const USAGE = `Usage: backend-updater <command> [options]

Commands:
  check     --feed URL (--current VERSION | --home DIR) [--prerelease] [--channel NAME]
            Check the feed for a newer backend than VERSION or than the one installed in DIR.
  download  --feed URL --current VERSION [--out DIR]
            Download and verify the update's archive into DIR (default: current folder).
  install   --home DIR (--file ARCHIVE --version VERSION [--sha256 HEX] [--manifest FILE] | --feed URL)
            Install an archive from a file (works offline) or the feed's update, check that it
            starts and answers its health check, and keep the previous version for rollback.
            With trusted keys, a file needs ARCHIVE.minisig and the signed release manifest
            (default: python-backend-release.json beside it), which also gives the version.
  rollback  --home DIR      Switch back to the previous installed version.
  status    --home DIR [--public-key FILE]
            Show the active and previous versions, any interrupted install and the trusted keys.
  serve     --home DIR --feed URL [--port N] [--backend-port N] [--ui DIR]
            Run the installed backend under the supervisor and the HTTP Update API on 127.0.0.1.
  release   keygen | pack | sign | checksums | check
            Publisher tools: make, sign and check releases ("backend-updater release --help").
  demo      [--headless] [--port N]
            Update a sample backend from 2.0.0 to 2.1.0 on a local feed. With --headless the whole
            update runs in the terminal and exits; without it the update UI is served on port N
            (default 5780) until Ctrl+C.

Options for check, download, install and serve:
  --feed URL          GitHub Releases API URL, a compatible URL, or a static JSON manifest.
  --prerelease        Offer prereleases too.
  --channel NAME      Offer prereleases of this channel (e.g. beta).
  --allow-downgrade   Offer a lower version when it is the highest eligible one.
  --platform NAME     Platform whose archive to pick (default: this machine's, e.g. linux).
  --arch NAME         Architecture whose archive to pick (default: this machine's, e.g. x64).
  --require-checksum  Reject releases that publish no SHA-256.
  --public-key FILE   Trust this minisign public key (repeatable). With any key, only releases
                      whose archive and release manifest it signed are installed.
Every command takes --json (print the result as JSON) and --help.

Environment: GITHUB_TOKEN or BACKEND_UPDATER_GITHUB_TOKEN (sent only to the feed's host),
BACKEND_UPDATER_LOG_LEVEL (debug, info, warn, error), BACKEND_UPDATER_LOG_FILE.
Errors go to stderr as "Error [CODE]: message" and the exit status is 1.`;

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  check: checkCommand,
  download: downloadCommand,
  install: installCommand,
  rollback: rollbackCommand,
  status: statusCommand,
  serve: serveCommand,
  release: releaseCommand,
  demo: demoCommand,
};

/** Runs the command line; returns the process exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`Error [INVALID_INPUT]: Unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}.\n`);
    return 1;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${name === 'release' ? RELEASE_USAGE : USAGE}\n`);
    return 0;
  }
  try {
    await command(args);
    return 0;
  } catch (error) {
    printError(error, args.includes('--json'));
    return 1;
  }
}
