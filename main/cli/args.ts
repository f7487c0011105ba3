import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UpdateError } from '../updater/errors';
import { parseTag } from '../updater/versions';

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies OptionSpec;

/** Options that shape release selection and the feed. */
export const FEED_OPTIONS = {
  feed: { type: 'string' },
  prerelease: { type: 'boolean' },
  channel: { type: 'string' },
  'allow-downgrade': { type: 'boolean' },
  platform: { type: 'string' },
  arch: { type: 'string' },
  'require-checksum': { type: 'boolean' },
  'public-key': { type: 'string', multiple: true },
} satisfies OptionSpec;

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

/** Parses a command's arguments strictly: unknown options and stray positionals are INVALID_INPUT. */
export function parseCommandArgs(command: string, args: string[], options: OptionSpec): ParsedValues {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals: true });
    if (positionals.length > 0) {
      throw new UpdateError('INVALID_INPUT', `Unexpected argument "${positionals[0]}" for "${command}". Run "backend-updater ${command} --help".`);
    }
    return values as ParsedValues;
  } catch (error) {
    if (error instanceof UpdateError) throw error;
    throw new UpdateError('INVALID_INPUT', `${describeParseError(error as NodeJS.ErrnoException, args)} for "${command}". Run "backend-updater ${command} --help".`);
  }
}

/** Rewrites node:util parseArgs errors, whose text suggests `--` syntax, as short messages naming the option. */
function describeParseError(error: NodeJS.ErrnoException, args: string[]): string {
  const option = /'(-{1,2}[^']+)'/.exec(error.message)?.[1] ?? args.find((arg) => arg.startsWith('-')) ?? '';
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `Unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(error.message) ? `Missing value for ${option.split(' ')[0]}` : `Invalid value for ${option.split(' ')[0]}`;
    default:
      return error.message.replace(/\.$/, '');
  }
}

/** Returns a required string option or raises INVALID_INPUT naming it. */
export function requireString(values: ParsedValues, name: string, command: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new UpdateError('INVALID_INPUT', `Missing --${name} for "${command}". Run "backend-updater ${command} --help".`);
  }
  return value;
}

/** Parses a version option (one optional leading v, strict semver). */
export function parseVersionOption(value: string, name: string): string {
  const version = parseTag(value);
  if (!version) throw new UpdateError('INVALID_INPUT', `Invalid --${name} "${value}": expected a semantic version such as 2.0.0.`);
  return version;
}

/** Parses a TCP port option; 0 is allowed where `allowZero` is set (pick a free port). */
export function parsePortOption(value: ParsedValues[string], name: string, allowZero = false): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  const min = allowZero ? 0 : 1;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || port < min || port > 65535) {
    throw new UpdateError('INVALID_INPUT', `Invalid --${name} "${String(value)}": expected a port number from ${min} to 65535.`);
  }
  return port;
}

/** Checks a --feed value: an absolute http:// or https:// URL. */
function parseFeedUrl(value: string): string {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UpdateError('INVALID_INPUT', `Invalid --feed "${value}": expected an http:// or https:// URL of a releases API or a JSON manifest.`);
  }
  return value;
}

/** Builds configuration overrides from the feed options that were given. */
export function feedOverrides(values: ParsedValues): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  if (typeof values.feed === 'string') overrides.feedUrl = parseFeedUrl(values.feed);
  if (values.prerelease !== undefined) overrides.allowPrerelease = values.prerelease;
  if (typeof values.channel === 'string') overrides.channel = values.channel;
  if (values['allow-downgrade'] !== undefined) overrides.allowDowngrade = values['allow-downgrade'];
  if (typeof values.platform === 'string') overrides.platform = values.platform;
  if (typeof values.arch === 'string') overrides.arch = values.arch;
  if (values['require-checksum']) overrides.checksumPolicy = 'required';
  const publicKeys = values['public-key'];
  // Paths given on the command line are relative to the current folder, not to the data folder.
  if (Array.isArray(publicKeys)) overrides.publicKeys = publicKeys.map((file) => path.resolve(file));
  return overrides;
}
