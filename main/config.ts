import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UpdateError } from './updater/errors';

/** Releases API of the reference app; any URL of the same shape, or a static manifest, works too. */
export const DEFAULT_FEED_URL = 'https://api.github.com/repos/ConardLi/easy-dataset/releases?per_page=100';

/** Name of the optional configuration file inside the data folder. */
export const CONFIG_FILE_NAME = 'config.json';

const extractLimitsSchema = z
  .object({
    maxTotalBytes: z.number().int().positive(),
    maxEntries: z.number().int().positive(),
    maxCompressionRatio: z.number().positive(),
  })
  .partial();

const backendSchema = z.object({
  /** Command run inside the version folder; the port arrives in the PORT environment variable. */
  command: z.array(z.string().min(1)).min(1).default(['python3', 'main.py']),
  /** Port of the backend on 127.0.0.1. */
  port: z.number().int().min(1).max(65535).default(8765),
  /** File that every installable version must contain. */
  entryPoint: z.string().min(1).default('main.py'),
  healthPath: z.string().startsWith('/').default('/health'),
  /** Milliseconds a started backend has to pass its health check. */
  startTimeoutMs: z.number().int().positive().default(20_000),
  /** Milliseconds a stopping backend has before it is killed. */
  stopTimeoutMs: z.number().int().positive().default(5_000),
});

/** Configuration of the updater, after defaults. Every field has a safe default except `home`. */
export const updaterConfigSchema = z.object({
  /** Data folder; the backend lives in `<home>/backend`. */
  home: z.string().min(1),
  feedUrl: z.string().url().default(DEFAULT_FEED_URL),
  /** GitHub token, sent only to the feed's own host. */
  token: z.string().min(1).optional(),
  allowPrerelease: z.boolean().default(false),
  /** Prerelease channel such as `beta`: its prereleases become eligible. */
  channel: z.string().min(1).nullable().default(null),
  allowDowngrade: z.boolean().default(false),
  platform: z.string().default(process.platform),
  arch: z.string().default(process.arch),
  /**
   * `if-present` verifies every checksum the release publishes and warns when it
   * publishes none; `required` rejects a release without one (CHECKSUM_MISSING).
   */
  checksumPolicy: z.enum(['required', 'if-present']).default('if-present'),
  /**
   * Trusted minisign public keys: paths of `.pub` files (relative to `home`)
   * or the base64 key line itself. With at least one key, only releases whose
   * archive and release manifest carry a valid signature from one of them are
   * installed. List the next key here one release before it signs, so keys
   * can be rotated. Empty: releases are installed unsigned, with a warning.
   */
  publicKeys: z.array(z.string().min(1)).default([]),
  /** Product name that a signed release manifest must carry. */
  product: z.string().min(1).default('python-backend'),
  /** Days without a successful check before a warning that updates may be blocked; null turns it off. */
  maxDaysWithoutCheck: z.number().positive().nullable().default(14),
  /** Milliseconds without received bytes before a request counts as stalled. */
  idleTimeoutMs: z.number().int().positive().default(30_000),
  maxPages: z.number().int().positive().max(100).default(10),
  extractLimits: extractLimitsSchema.default({}),
  backend: backendSchema.default(backendSchema.parse({})),
  /** Version shipped inside the app, used when nothing is installed yet. */
  bundled: z.object({ dir: z.string().min(1), version: z.string().min(1) }).nullable().default(null),
});

export type UpdaterConfig = z.infer<typeof updaterConfigSchema>;
export type UpdaterConfigInput = z.input<typeof updaterConfigSchema>;

/** Validates configuration input and fills in defaults; invalid input raises INVALID_INPUT naming the field. */
export function parseConfig(input: unknown): UpdaterConfig {
  const result = updaterConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new UpdateError('INVALID_INPUT', `Invalid configuration: ${problems.join('; ')}.`);
}

/** Reads `<home>/config.json` when it exists; a file that is not valid JSON is an error, not ignored. */
export async function readConfigFile(home: string): Promise<Record<string, unknown>> {
  const file = path.join(home, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new UpdateError('INVALID_INPUT', `Invalid configuration file ${file}: ${(error as Error).message}. Fix or delete it.`);
  }
}

/** Rejects a data folder path that exists but is not a folder; a missing one is created later. */
async function assertHomeFolder(home: string): Promise<void> {
  const stat = await fs.stat(home).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new UpdateError('INVALID_INPUT', `Cannot read the data folder ${home} (--home): ${error.message}.`);
  });
  if (stat && !stat.isDirectory()) {
    throw new UpdateError('INVALID_INPUT', `The data folder ${home} (--home) is not a folder. Give a folder path; it is created when missing.`);
  }
}

/** Returns the configuration values set through environment variables. */
export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  if (env.BACKEND_UPDATER_FEED) values.feedUrl = env.BACKEND_UPDATER_FEED;
  const token = env.BACKEND_UPDATER_GITHUB_TOKEN ?? env.GITHUB_TOKEN;
  if (token) values.token = token;
  if (env.BACKEND_UPDATER_CHANNEL) values.channel = env.BACKEND_UPDATER_CHANNEL;
  return values;
}

/**
 * Loads the configuration for a data folder: defaults, then `<home>/config.json`,
 * then environment variables, then `overrides` (command-line flags), each level
 * replacing the one before. `backend` and `extractLimits` merge field by field.
 */
export async function loadConfig(home: string, overrides: Record<string, unknown> = {}): Promise<UpdaterConfig> {
  await assertHomeFolder(home);
  const fromFile = await readConfigFile(home);
  const fromEnv = configFromEnvironment();
  const layers = [fromFile, fromEnv, overrides];
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const nested = key === 'backend' || key === 'extractLimits';
      merged[key] = nested ? { ...(merged[key] as object | undefined), ...(value as object) } : value;
    }
  }
  merged.home = path.resolve(home);
  return parseConfig(merged);
}
