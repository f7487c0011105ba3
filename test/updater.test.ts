import fs from 'node:fs/promises';
import path from 'node:path';
import { startLocalFeed } from '../main/demo/local-feed';
import { BackendUpdater } from '../main/updater/updater';
import { UpdateError } from '../main/updater/errors';
import { silentLogger } from '../main/logger';
import type { UpdateState } from '../main/updater/state';
import { backendHealth, createWorld, type TestWorld } from './helpers/world';

let world: TestWorld | null = null;
let updater: BackendUpdater | null = null;

afterEach(async () => {
  await updater?.stopBackend();
  updater = null;
  await world?.cleanup();
  world = null;
});

async function startWith200(current: TestWorld): Promise<BackendUpdater> {
  const instance = new BackendUpdater({ config: current.config, logger: silentLogger, keepBackendRunning: true });
  await instance.init();
  const archive = current.old.files[0]!;
  await instance.installFile({ file: archive, version: '2.0.0', format: 'zip' });
  return instance;
}

function recordTypes(instance: BackendUpdater): UpdateState['type'][] {
  const types: UpdateState['type'][] = [];
  instance.onState((state) => {
    if (types.at(-1) !== state.type) types.push(state.type);
  });
  return types;
}

describe('BackendUpdater', () => {
  it('updates a running backend from 2.0.0 to 2.1.0', async () => {
    world = await createWorld();
    updater = await startWith200(world);
    const port = world.config.backend.port;
    expect((await backendHealth(port)).body.version).toBe('2.0.0');

    const types = recordTypes(updater);
    const check = await updater.check();
    expect(check.updateAvailable).toBe(true);
    expect(check.latestVersion).toBe('2.1.0');
    expect(check.update?.assetName).toBe('python-backend-2.1.0.zip');

    const downloaded = await updater.download();
    expect(downloaded.sha256).toBe(world.next.sha256['python-backend-2.1.0.zip']);
    const installed = await updater.install();

    expect(installed).toMatchObject({ version: '2.1.0', previousVersion: '2.0.0' });
    expect(types).toEqual(['checking', 'available', 'downloading', 'downloaded', 'installing', 'restarting', 'installed']);
    const health = await backendHealth(port);
    expect(health.status).toBe(200);
    expect(health.body.version).toBe('2.1.0');
    expect(await updater.store.readState()).toMatchObject({ current: '2.1.0', previous: '2.0.0', pending: null });
  });

  it('rolls back a version that fails its health check', async () => {
    world = await createWorld({ nextOptions: { fault: 'fail-health' }, config: { backend: { startTimeoutMs: 2_000 } } });
    updater = await startWith200(world);
    const port = world.config.backend.port;

    const failure = await updater.install().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(UpdateError);
    expect((failure as UpdateError).code).toBe('HEALTH_CHECK_FAILED');
    expect((await backendHealth(port)).body.version).toBe('2.0.0');
    expect((await updater.store.readState()).current).toBe('2.0.0');
    // The failed version never becomes the rollback target.
    expect((await updater.store.readState()).previous).toBeNull();
    const state = updater.getState();
    expect(state.type).toBe('error');
  });

  it('discards a download whose archive is unusable', async () => {
    world = await createWorld();
    updater = await startWith200(world);
    const broken = path.join(world.root, 'broken', 'python-backend-2.2.0.zip');
    await fs.mkdir(path.dirname(broken), { recursive: true });
    await fs.writeFile(broken, 'this is not a zip archive');
    const feed = await startLocalFeed({ releases: [{ version: '2.2.0', notes: 'broken', files: [broken] }] });
    const brokenUpdater = new BackendUpdater({ config: { ...world.config, feedUrl: feed.url }, logger: silentLogger, keepBackendRunning: true });
    await updater.stopBackend();
    updater = brokenUpdater;
    await brokenUpdater.init();
    await brokenUpdater.startBackend();

    const failure = await brokenUpdater.install().catch((error: unknown) => error);
    await feed.close();

    expect((failure as UpdateError).code).toBe('ARCHIVE_INVALID');
    expect(await fs.readdir(brokenUpdater.store.downloadsDir)).toEqual([]);
    expect((await backendHealth(world.config.backend.port)).body.version).toBe('2.0.0');
  });

  it('waits for a running install before stopping', async () => {
    world = await createWorld();
    updater = await startWith200(world);
    const current = updater;
    let stopping: Promise<void> | null = null;
    current.onState((state) => {
      if (state.type === 'restarting' && stopping === null) stopping = current.stopBackend();
    });

    const installed = await current.install();
    await stopping;

    expect(stopping).not.toBeNull();
    expect(installed.version).toBe('2.1.0');
    expect(await current.store.readState()).toMatchObject({ current: '2.1.0', previous: '2.0.0', pending: null });
    expect(current.supervisor.status().running).toBe(false);
  });

  it('reports up to date when nothing is newer', async () => {
    world = await createWorld();
    updater = new BackendUpdater({ config: world.config, logger: silentLogger, keepBackendRunning: true });
    await updater.init();
    await updater.installFile({ file: world.next.files[0]!, version: '2.1.0', format: 'zip' });

    const result = await updater.check();

    expect(result).toMatchObject({ updateAvailable: false, currentVersion: '2.1.0', latestVersion: '2.1.0' });
    expect(updater.getState().type).toBe('not-available');
  });

  it('shares one check between concurrent callers', async () => {
    world = await createWorld();
    updater = await startWith200(world);
    const before = world.feed.requests.length;

    const [first, second] = await Promise.all([updater.check(), updater.check()]);

    expect(first).toBe(second);
    const listRequests = world.feed.requests.slice(before).filter((request) => request.url.includes('/releases'));
    expect(listRequests).toHaveLength(1);
  });

  it('rejects an install while a download runs', async () => {
    world = await createWorld();
    updater = await startWith200(world);
    await updater.check();
    const download = updater.download();

    const failure = await updater.install().catch((error: unknown) => error);

    expect((failure as UpdateError).code).toBe('BUSY');
    await download;
    expect(updater.getState().type).toBe('downloaded');
  });
});
