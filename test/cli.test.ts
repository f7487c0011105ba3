import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendHealth, createWorld, type TestWorld } from './helpers/world';
import { findFreePort } from '../main/updater/apply';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/backend-updater.js');

let world: TestWorld | null = null;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  await world?.cleanup();
  world = null;
});

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, BACKEND_UPDATER_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Starts `serve` and resolves with its JSON start-up line. */
function startServe(args: string[]): Promise<{ url: string; token_file: string; backend_port: number }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--json', ...args], { env: { ...process.env, BACKEND_UPDATER_LOG_LEVEL: 'warn' } });
  children.push(child);
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) resolve(JSON.parse(line));
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

describe('backend-updater CLI', () => {
  it('installs from a file offline and reports status', async () => {
    world = await createWorld();
    const home = world.config.home;

    const install = await runCli(['install', '--home', home, '--file', world.old.files[0]!, '--version', '2.0.0', '--sha256', world.old.sha256['python-backend-2.0.0.zip']!, '--json']);
    const status = await runCli(['status', '--home', home, '--json']);

    expect(install.code).toBe(0);
    expect(JSON.parse(install.stdout)).toMatchObject({ version: '2.0.0', previous_version: null });
    expect(JSON.parse(status.stdout)).toMatchObject({ current_version: '2.0.0', installed_versions: ['2.0.0'] });
  });

  it('rejects a file whose hash does not match', async () => {
    world = await createWorld();
    const result = await runCli(['install', '--home', world.config.home, '--file', world.old.files[0]!, '--version', '2.0.0', '--sha256', 'a'.repeat(64)]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error [CHECKSUM_MISMATCH]');
    const status = await runCli(['status', '--home', world.config.home, '--json']);
    expect(JSON.parse(status.stdout).current_version).toBeNull();
  });

  it('checks the feed against a given version', async () => {
    world = await createWorld();
    const result = await runCli(['check', '--feed', world.feed.url, '--current', 'v2.0.0', '--json']);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ update_available: true, current_version: '2.0.0', latest_version: '2.1.0' });
  });

  it('prints errors with their code and exits 1', async () => {
    const missing = await runCli(['check', '--current', '2.0.0', '--feed', 'http://127.0.0.1:9/releases', '--json']);
    const usage = await runCli(['install', '--home']);
    const unknown = await runCli(['frobnicate']);

    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr.trim().split('\n').at(-1)!).error.code).toBe('NETWORK');
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('Error [INVALID_INPUT]');
    expect(unknown.code).toBe(1);
  });

  it('names the option in usage errors', async () => {
    const file = await runCli(['status', '--home', BIN]);
    const typo = await runCli(['status', '--hom', 'x']);
    const feed = await runCli(['check', '--feed', 'notaurl', '--current', '1.0.0']);
    const neither = await runCli(['check', '--feed', 'http://127.0.0.1:9/releases']);

    for (const result of [file, typo, feed, neither]) expect(result.code).toBe(1);
    expect(file.stderr).toContain('is not a folder');
    expect(typo.stderr).toContain('Unknown option --hom for "status"');
    expect(feed.stderr).toContain('Invalid --feed "notaurl"');
    expect(neither.stderr).toContain('Missing --current VERSION or --home DIR');
  });

  it('rejects an archive whose backend reports another version', async () => {
    world = await createWorld();
    const result = await runCli(['install', '--home', world.config.home, '--file', world.old.files[0]!, '--version', '2.4.0']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error [VERSION_MISMATCH]');
    const status = JSON.parse((await runCli(['status', '--home', world.config.home, '--json'])).stdout);
    expect(status.current_version).toBeNull();
  });

  it('treats an up-to-date install from the feed as success', async () => {
    world = await createWorld();
    const home = world.config.home;
    expect((await runCli(['install', '--home', home, '--file', world.next.files[0]!, '--version', '2.1.0'])).code).toBe(0);

    const result = await runCli(['install', '--home', home, '--feed', world.feed.url, '--json']);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ installed: false, version: '2.1.0', latest_version: '2.1.0' });
  });

  it('downloads and verifies an update into a folder', async () => {
    world = await createWorld();
    const out = path.join(world.root, 'out');
    const result = await runCli(['download', '--feed', world.feed.url, '--current', '2.0.0', '--out', out, '--json']);

    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output.sha256).toBe(world.next.sha256['python-backend-2.1.0.zip']);
    expect((await fs.stat(path.join(out, 'python-backend-2.1.0.zip'))).size).toBe(output.size);
  });

  it('updates a served backend over the HTTP API', async () => {
    world = await createWorld({ nextOptions: { topFolder: true } });
    const home = world.config.home;
    const backendPort = await findFreePort();
    expect((await runCli(['install', '--home', home, '--file', world.old.files[0]!, '--version', '2.0.0'])).code).toBe(0);

    const served = await startServe(['--home', home, '--feed', world.feed.url, '--backend-port', String(backendPort)]);
    const token = (await fs.readFile(served.token_file, 'utf8')).trim();
    const auth = { authorization: `Bearer ${token}` };
    expect((await backendHealth(backendPort)).body.version).toBe('2.0.0');

    const check = await (await fetch(`${served.url}/api/updates/check`)).json();
    const download = await fetch(`${served.url}/api/updates/download`, { method: 'POST', headers: auth });
    const install = await fetch(`${served.url}/api/updates/install`, { method: 'POST', headers: auth });

    expect(check.latest_version).toBe('2.1.0');
    expect(download.status).toBe(200);
    expect(install.status).toBe(200);
    expect((await backendHealth(backendPort)).body.version).toBe('2.1.0');
  });
});
