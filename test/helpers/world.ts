import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, type UpdaterConfig, type UpdaterConfigInput } from '../../main/config';
import { startLocalFeed, type LocalFeed, type LocalRelease } from '../../main/demo/local-feed';
import { packSampleBackend, type PackSampleOptions, type PackedRelease } from '../../main/release/pack-sample';
import { findFreePort } from '../../main/updater/apply';

/** Creates a temporary folder; the caller removes it. */
export async function makeTempDir(prefix = 'bu-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Packs the sample backend into `<root>/releases/<version>`. */
export async function packRelease(root: string, options: Omit<PackSampleOptions, 'outDir'>): Promise<PackedRelease> {
  return packSampleBackend({ ...options, outDir: path.join(root, 'releases', options.version) });
}

/** Builds a local-feed release entry that publishes every archive of a packed release plus SHA256SUMS. */
export function feedRelease(packed: PackedRelease, overrides: Partial<LocalRelease> = {}): LocalRelease {
  return {
    version: packed.version,
    name: `Backend ${packed.version}`,
    notes: `## ${packed.version}\n\n- Change in **${packed.version}**.`,
    publishedAt: '2026-12-01T09:00:00Z',
    files: [...packed.files, packed.sumsFile],
    ...overrides,
  };
}

export interface TestWorld {
  root: string;
  feed: LocalFeed;
  config: UpdaterConfig;
  old: PackedRelease;
  next: PackedRelease;
  cleanup(): Promise<void>;
}

/**
 * Creates releases 2.0.0 and 2.1.0 of the sample backend on a local feed and a
 * configuration whose data folder is empty. `nextOptions` changes how 2.1.0 is
 * packed (for example a fault that fails its health check).
 */
export async function createWorld(options: { nextOptions?: Partial<PackSampleOptions>; config?: Partial<UpdaterConfigInput> } = {}): Promise<TestWorld> {
  const root = await makeTempDir();
  const old = await packRelease(root, { version: '2.0.0', formats: ['zip'] });
  const next = await packRelease(root, { version: '2.1.0', formats: ['zip'], ...options.nextOptions });
  const feed = await startLocalFeed({ releases: [feedRelease(old), feedRelease(next)] });
  const config = parseConfig({
    home: path.join(root, 'home'),
    feedUrl: feed.url,
    backend: { port: await findFreePort(), startTimeoutMs: 8_000, stopTimeoutMs: 3_000 },
    ...options.config,
  });
  return {
    root,
    feed,
    config,
    old,
    next,
    cleanup: async () => {
      await feed.close();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** Reads the backend's own health response. */
export async function backendHealth(port: number): Promise<{ status: number; body: { status?: string; version?: string } }> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: response.status, body: (await response.json()) as { status?: string; version?: string } };
}
