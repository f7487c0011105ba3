import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { LineSplitter } from '../main/backend/output';
import { RestartPolicy } from '../main/backend/restart-policy';
import { BackendSupervisor, type BackendExitEvent, type BackendSupervisorOptions } from '../main/backend/supervisor';
import type { Logger } from '../main/logger';
import { packSampleBackend } from '../main/release/pack-sample';
import { CancelledError, UpdateError } from '../main/updater/errors';

const SAMPLE_MAIN = fileURLToPath(new URL('../examples/python-backend/main.py', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const tempDirs: string[] = [];
const supervisors: BackendSupervisor[] = [];
const servers: net.Server[] = [];
const childProcesses: ChildProcess[] = [];
/** Every backend-side pid seen by a test; afterEach kills any that survived. */
const seenPids = new Set<number>();

async function makeTempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'supervisor-test-'));
  tempDirs.push(dir);
  return dir;
}

/** Returns a port that was free a moment ago: listen on port 0, note the port, close. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Copies the sample backend into a temp folder with a VERSION file and optional marker files. */
async function makeBackendDir(version: string, markers: string[] = []): Promise<string> {
  const dir = await makeTempDir();
  await fs.copyFile(SAMPLE_MAIN, path.join(dir, 'main.py'));
  await fs.writeFile(path.join(dir, 'VERSION'), `${version}\n`);
  for (const marker of markers) await fs.writeFile(path.join(dir, marker), '');
  return dir;
}

interface LogRecord {
  level: keyof Logger;
  message: string;
}

function recordingLogger(records: LogRecord[]): Logger {
  const record = (level: keyof Logger) => (message: string) => void records.push({ level, message });
  return { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

async function makeSupervisor(overrides: Partial<BackendSupervisorOptions> = {}, logs: LogRecord[] = []) {
  const supervisor = new BackendSupervisor({
    port: await freePort(),
    startTimeoutMs: 10_000,
    stopTimeoutMs: 2_000,
    logger: recordingLogger(logs),
    ...overrides,
  });
  supervisor.on('started', ({ pid }) => seenPids.add(pid));
  supervisor.on('exit', ({ pid }) => seenPids.add(pid));
  supervisors.push(supervisor);
  return supervisor;
}

/** True while the process exists and is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(50);
  }
  return condition();
}

/** Resolves true when something accepts connections on the port. */
async function portAcceptsConnections(port: number): Promise<boolean> {
  const socket = net.connect({ host: '127.0.0.1', port });
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

async function getJson(port: number, urlPath: string): Promise<{ status: number; type: string; body: unknown }> {
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, resolve).on('error', reject);
  });
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return {
    status: response.statusCode ?? 0,
    type: String(response.headers['content-type']),
    body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
  };
}

async function startError(promise: Promise<unknown>): Promise<UpdateError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(UpdateError);
  return error as UpdateError;
}

function readPidFile(file: string): Promise<number> {
  return fs.readFile(file, 'utf8').then((text) => Number.parseInt(text.trim(), 10));
}

afterEach(async () => {
  await Promise.allSettled(supervisors.splice(0).map((supervisor) => supervisor.stop()));
  for (const child of childProcesses.splice(0)) child.kill('SIGKILL');
  for (const pid of seenPids) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  seenPids.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  await Promise.all(tempDirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

describe('BackendSupervisor start', () => {
  it('starts packed backend and reports version', async () => {
    const release = await packSampleBackend({ version: '2.0.0', outDir: await makeTempDir(), formats: ['tar.gz'] });
    const dir = await makeTempDir();
    await tar.x({ file: release.files[0]!, cwd: dir });
    const logs: LogRecord[] = [];
    const supervisor = await makeSupervisor({}, logs);
    const started: unknown[] = [];
    supervisor.on('started', (event) => started.push(event));

    const health = await supervisor.start(dir, '2.0.0');

    expect(health).toEqual({ ok: true, status: 200, body: { status: 'ok', version: '2.0.0' }, version: '2.0.0' });
    const status = supervisor.status();
    expect(status).toMatchObject({ running: true, healthy: true, port: supervisor.port, version: '2.0.0', dir });
    expect(status.pid).toBeGreaterThan(0);
    expect(started).toEqual([expect.objectContaining({ pid: status.pid, version: '2.0.0', dir, port: supervisor.port })]);
    const healthResponse = await getJson(supervisor.port, '/health');
    expect(healthResponse.type).toBe('application/json');
    expect((await getJson(supervisor.port, '/')).body).toMatchObject({ version: '2.0.0', pid: status.pid });
    expect((await getJson(supervisor.port, '/missing')).status).toBe(404);
    expect(logs.some((log) => log.message.includes(`pid ${status.pid}`) && log.message.includes(dir))).toBe(true);
    expect(logs.some((log) => /healthy after \d+ ms/.test(log.message))).toBe(true);
  });

  it('passes PORT, BACKEND_VERSION and extra env', async () => {
    const dir = await makeTempDir();
    const script = [
      'import http.server, json, os',
      'class H(http.server.BaseHTTPRequestHandler):',
      '    def do_GET(self):',
      '        body = json.dumps({"version": os.environ["BACKEND_VERSION"], "extra": os.environ["EXTRA"]}).encode()',
      '        self.send_response(200); self.end_headers(); self.wfile.write(body)',
      '    def log_message(self, *args): pass',
      'http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()',
    ].join('\n');
    const supervisor = await makeSupervisor({ command: ['python3', '-c', script], env: { EXTRA: 'yes' } });

    const health = await supervisor.start(dir, '3.1.4');

    expect(health.body).toEqual({ version: '3.1.4', extra: 'yes' });
    expect(health.version).toBe('3.1.4');
  });

  it('fails on FAIL_HEALTH and leaves nothing', async () => {
    const dir = await makeBackendDir('2.1.0', ['FAIL_HEALTH']);
    const supervisor = await makeSupervisor({ startTimeoutMs: 1500 });
    const exits: BackendExitEvent[] = [];
    supervisor.on('exit', (event) => exits.push(event));
    const startedAt = Date.now();

    const error = await startError(supervisor.start(dir, '2.1.0'));

    expect(error.code).toBe('HEALTH_CHECK_FAILED');
    expect(error.message).toContain('HTTP 503');
    expect(error.message).toContain(`:${supervisor.port}/health`);
    expect(Date.now() - startedAt).toBeLessThan(6000);
    expect(exits).toHaveLength(1);
    expect(exits[0]).toMatchObject({ version: '2.1.0', expected: true });
    expect(isAlive(exits[0]!.pid)).toBe(false);
    expect(await portAcceptsConnections(supervisor.port)).toBe(false);
    expect(supervisor.status()).toMatchObject({ running: false, healthy: false, pid: null, version: null });
  });

  it('reports exit code 3 on CRASH_ON_START', async () => {
    const dir = await makeBackendDir('2.1.0', ['CRASH_ON_START']);
    const supervisor = await makeSupervisor();

    const error = await startError(supervisor.start(dir, '2.1.0'));

    expect(error.code).toBe('BACKEND_START_FAILED');
    expect(error.details?.exitCode).toBe(3);
    expect(error.message).toContain('code 3');
    expect(error.message).toContain('CRASH_ON_START marker found');
    expect(supervisor.status().running).toBe(false);
  });

  it('names a command that does not exist', async () => {
    const dir = await makeBackendDir('2.0.0');
    const supervisor = await makeSupervisor({ command: ['no-such-python-for-tests', 'main.py'] });

    const error = await startError(supervisor.start(dir, '2.0.0'));

    expect(error.code).toBe('BACKEND_START_FAILED');
    expect(error.message).toContain('no-such-python-for-tests');
    expect(error.details?.errno).toBe('ENOENT');
    expect(supervisor.status().running).toBe(false);
  });

  it('rejects a missing version folder', async () => {
    const dir = path.join(await makeTempDir(), 'versions', '9.9.9');
    const supervisor = await makeSupervisor();

    const error = await startError(supervisor.start(dir, '9.9.9'));

    expect(error.code).toBe('BACKEND_START_FAILED');
    expect(error.message).toContain(dir);
  });

  it('fails fast when port is taken', async () => {
    const dir = await makeBackendDir('2.0.0');
    const supervisor = await makeSupervisor();
    const squatter = net.createServer((socket) => socket.destroy());
    servers.push(squatter);
    squatter.listen(supervisor.port, '127.0.0.1');
    await once(squatter, 'listening');
    const exits: BackendExitEvent[] = [];
    supervisor.on('exit', (event) => exits.push(event));
    const startedAt = Date.now();

    const error = await startError(supervisor.start(dir, '2.0.0'));

    expect(error.code).toBe('BACKEND_START_FAILED');
    expect(error.message).toContain(`Port ${supervisor.port}`);
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(exits).toEqual([]);
  });

  it('rejects a second start while running', async () => {
    const dir = await makeBackendDir('2.0.0');
    const supervisor = await makeSupervisor();
    await supervisor.start(dir, '2.0.0');

    const error = await startError(supervisor.start(dir, '2.0.0'));

    expect(error.code).toBe('INVALID_STATE');
    expect(supervisor.status().healthy).toBe(true);
  });
});

describe('BackendSupervisor stop', () => {
  it('frees the port and ends the process', async () => {
    const dir = await makeBackendDir('2.0.0');
    const logs: LogRecord[] = [];
    const supervisor = await makeSupervisor({}, logs);
    await supervisor.start(dir, '2.0.0');
    const pid = supervisor.status().pid!;
    const exits: BackendExitEvent[] = [];
    const stopped: unknown[] = [];
    const output: string[] = [];
    supervisor.on('exit', (event) => exits.push(event));
    supervisor.on('stopped', (event) => stopped.push(event));
    supervisor.on('output', ({ line }) => output.push(line));

    await supervisor.stop();

    expect(isAlive(pid)).toBe(false);
    expect(await portAcceptsConnections(supervisor.port)).toBe(false);
    expect(exits).toEqual([{ code: 0, signal: null, version: '2.0.0', pid, expected: true }]);
    expect(stopped).toEqual([{ pid, version: '2.0.0', dir, port: supervisor.port }]);
    expect(output.some((line) => line.includes('stopped (SIGTERM)'))).toBe(true);
    expect(supervisor.status()).toMatchObject({ running: false, healthy: false, pid: null, version: null, dir: null });
    expect(logs.some((log) => log.message.includes('stopped; port') && log.message.includes(`pid ${pid}`))).toBe(true);
  });

  it('is idempotent', async () => {
    const dir = await makeBackendDir('2.0.0');
    const supervisor = await makeSupervisor();
    await supervisor.start(dir, '2.0.0');
    const stopped: unknown[] = [];
    supervisor.on('stopped', (event) => stopped.push(event));

    await Promise.all([supervisor.stop(), supervisor.stop()]);
    await supervisor.stop();

    expect(stopped).toHaveLength(1);
  });

  it('allows a start after stop', async () => {
    const first = await makeBackendDir('2.0.0');
    const second = await makeBackendDir('2.1.0');
    const supervisor = await makeSupervisor();
    await supervisor.start(first, '2.0.0');
    await supervisor.stop();

    const health = await supervisor.start(second, '2.1.0');

    expect(health.version).toBe('2.1.0');
    expect(supervisor.status()).toMatchObject({ running: true, version: '2.1.0', dir: second });
  });

  it('kills grandchildren of the backend', async () => {
    const dir = await makeBackendDir('2.0.0');
    // A plain grandchild, and one that ignores SIGTERM and must get SIGKILL.
    const stubborn = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)';
    const shell = [
      'sleep 300 & echo $! > sleeper.pid',
      `python3 -c '${stubborn}' & echo $! > stubborn.pid`,
      'exec python3 main.py',
    ].join('\n');
    const supervisor = await makeSupervisor({ command: ['sh', '-c', shell], stopTimeoutMs: 1000 });
    await supervisor.start(dir, '2.0.0');
    const sleeper = await readPidFile(path.join(dir, 'sleeper.pid'));
    const stubbornPid = await readPidFile(path.join(dir, 'stubborn.pid'));
    seenPids.add(sleeper).add(stubbornPid);
    expect(isAlive(sleeper)).toBe(true);
    expect(isAlive(stubbornPid)).toBe(true);

    await supervisor.stop();

    expect(await waitFor(() => !isAlive(sleeper) && !isAlive(stubbornPid), 1000)).toBe(true);
    expect(await portAcceptsConnections(supervisor.port)).toBe(false);
  });

  it('sends SIGKILL after stopTimeoutMs', async () => {
    const dir = await makeTempDir();
    const script = [
      'import http.server, os, signal',
      'signal.signal(signal.SIGTERM, signal.SIG_IGN)',
      'class H(http.server.BaseHTTPRequestHandler):',
      '    def do_GET(self):',
      '        self.send_response(200); self.end_headers(); self.wfile.write(b"{}")',
      '    def log_message(self, *args): pass',
      'http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()',
    ].join('\n');
    const supervisor = await makeSupervisor({ command: ['python3', '-c', script], stopTimeoutMs: 500 });
    await supervisor.start(dir, '1.0.0');
    const exits: BackendExitEvent[] = [];
    supervisor.on('exit', (event) => exits.push(event));
    const stoppedAt = Date.now();

    await supervisor.stop();

    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(500);
    expect(exits).toMatchObject([{ signal: 'SIGKILL', code: null }]);
    expect(await portAcceptsConnections(supervisor.port)).toBe(false);
  });

  it('cancels a start in progress', async () => {
    const dir = await makeBackendDir('2.1.0', ['FAIL_HEALTH']);
    const supervisor = await makeSupervisor({ startTimeoutMs: 10_000 });
    const exits: BackendExitEvent[] = [];
    supervisor.on('exit', (event) => exits.push(event));
    const starting = supervisor.start(dir, '2.1.0');
    const outcome = starting.catch((error: unknown) => error);
    await waitFor(() => supervisor.status().running, 5000);

    await supervisor.stop();

    expect(await outcome).toBeInstanceOf(CancelledError);
    expect(exits).toHaveLength(1);
    expect(isAlive(exits[0]!.pid)).toBe(false);
    expect(supervisor.status().running).toBe(false);
  });
});

describe('BackendSupervisor health and crashes', () => {
  it('checks health of a running backend', async () => {
    const dir = await makeBackendDir('2.0.0');
    const supervisor = await makeSupervisor();
    await supervisor.start(dir, '2.0.0');

    await fs.writeFile(path.join(dir, 'FAIL_HEALTH'), '');
    const failing = await supervisor.checkHealth();

    expect(failing).toEqual({ ok: false, status: 503, body: { status: 'failing', version: '2.0.0' }, version: '2.0.0' });
    expect(supervisor.status().healthy).toBe(false);
    await fs.rm(path.join(dir, 'FAIL_HEALTH'));
    expect((await supervisor.checkHealth()).ok).toBe(true);
    expect(supervisor.status().healthy).toBe(true);
  });

  it('reports status 0 without a backend', async () => {
    const supervisor = await makeSupervisor();

    const health = await supervisor.checkHealth();

    expect(health).toEqual({ ok: false, status: 0, body: null, version: null });
  });

  it('restarts after an external kill', async () => {
    const dir = await makeBackendDir('2.0.0');
    const logs: LogRecord[] = [];
    const supervisor = await makeSupervisor({ restartOnCrash: true, restartDelaysMs: [200] }, logs);
    await supervisor.start(dir, '2.0.0');
    const firstPid = supervisor.status().pid!;
    const events: string[] = [];
    supervisor.on('exit', ({ expected }) => events.push(`exit expected=${expected}`));
    supervisor.on('restarting', ({ attempt, delayMs }) => events.push(`restarting ${attempt} ${delayMs}`));
    const restarted = once(supervisor, 'started');

    process.kill(firstPid, 'SIGKILL');
    const [started] = (await restarted) as [{ pid: number; version: string }];

    expect(events).toEqual(['exit expected=false', 'restarting 1 200']);
    expect(started.pid).not.toBe(firstPid);
    expect(started.version).toBe('2.0.0');
    expect((await supervisor.checkHealth()).version).toBe('2.0.0');
    expect(supervisor.status()).toMatchObject({ running: true, healthy: true, pid: started.pid });
    expect(logs.some((log) => log.level === 'warn' && log.message.includes('exited unexpectedly with signal SIGKILL'))).toBe(true);
  });

  it('does not restart after stop', async () => {
    const dir = await makeBackendDir('2.0.0');
    const supervisor = await makeSupervisor({ restartOnCrash: true, restartDelaysMs: [300] });
    await supervisor.start(dir, '2.0.0');
    const pid = supervisor.status().pid!;
    const exited = once(supervisor, 'exit');
    let starts = 0;
    supervisor.on('started', () => (starts += 1));

    process.kill(pid, 'SIGKILL');
    await exited;
    expect(supervisor.status()).toMatchObject({ running: false, restartPending: true, version: '2.0.0' });
    await supervisor.stop();
    await sleep(600);

    expect(starts).toBe(0);
    expect(supervisor.status()).toMatchObject({ running: false, restartPending: false, version: null });
    expect(await portAcceptsConnections(supervisor.port)).toBe(false);
  });

  it('gives up after repeated failed restarts', async () => {
    const dir = await makeBackendDir('2.0.0');
    const logs: LogRecord[] = [];
    const supervisor = await makeSupervisor({ restartOnCrash: true, restartDelaysMs: [50], maxRestarts: 3 }, logs);
    await supervisor.start(dir, '2.0.0');
    const attempts: number[] = [];
    supervisor.on('restarting', ({ attempt }) => attempts.push(attempt));
    const gaveUp = once(supervisor, 'restart-failed');

    await fs.writeFile(path.join(dir, 'CRASH_ON_START'), '');
    process.kill(supervisor.status().pid!, 'SIGKILL');
    const [event] = await gaveUp;

    expect(event).toEqual({ version: '2.0.0', attempts: 3, windowMs: 60_000 });
    expect(attempts).toEqual([1, 2, 3]);
    expect(supervisor.status()).toMatchObject({ running: false, restartPending: false, version: null });
    expect(logs.filter((log) => log.message.startsWith('restart of backend 2.0.0 failed'))).toHaveLength(3);
  });

  it('stays down after a crash by default', async () => {
    const dir = await makeBackendDir('2.0.0');
    const supervisor = await makeSupervisor();
    await supervisor.start(dir, '2.0.0');
    const exited = once(supervisor, 'exit');

    process.kill(supervisor.status().pid!, 'SIGKILL');
    const [event] = (await exited) as [BackendExitEvent];
    await sleep(300);

    expect(event).toMatchObject({ signal: 'SIGKILL', expected: false, version: '2.0.0' });
    expect(supervisor.status()).toMatchObject({ running: false, restartPending: false, version: null });
  });
});

describe('python-backend parent watchdog', () => {
  it('exits when stdin reaches end of file', async () => {
    const dir = await makeBackendDir('2.0.0');
    const port = await freePort();
    const child = spawn('python3', ['main.py'], { cwd: dir, env: { ...process.env, PORT: String(port) }, stdio: ['pipe', 'ignore', 'pipe'] });
    childProcesses.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    expect(await waitFor(() => portAcceptsConnections(port), 5000)).toBe(true);

    child.stdin.end();
    const [code] = (await exited) as [number | null];

    expect(code).toBe(0);
    expect(stderr).toContain('stopped (stdin closed)');
    expect(await portAcceptsConnections(port)).toBe(false);
  });

  it('exits when the supervising process dies', async () => {
    const dir = await makeBackendDir('2.0.0');
    const port = await freePort();
    const script = path.join(await makeTempDir(), 'parent.mts');
    const supervisorUrl = new URL('../main/backend/supervisor.ts', import.meta.url).href;
    const loggerUrl = new URL('../main/logger.ts', import.meta.url).href;
    await fs.writeFile(
      script,
      [
        `import { BackendSupervisor } from ${JSON.stringify(supervisorUrl)};`,
        `import { silentLogger } from ${JSON.stringify(loggerUrl)};`,
        `const supervisor = new BackendSupervisor({ port: ${port}, logger: silentLogger });`,
        `await supervisor.start(${JSON.stringify(dir)}, '2.0.0');`,
        'process.stdout.write(JSON.stringify(supervisor.status()) + "\\n");',
        'setInterval(() => undefined, 1000);',
      ].join('\n'),
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    childProcesses.push(parent);
    const [firstLine] = (await once(parent.stdout, 'data')) as [Buffer];
    const backendPid = (JSON.parse(firstLine.toString()) as { pid: number }).pid;
    seenPids.add(backendPid);
    expect(isAlive(backendPid)).toBe(true);

    parent.kill('SIGKILL');

    expect(await waitFor(() => !isAlive(backendPid), 5000)).toBe(true);
    expect(await portAcceptsConnections(port)).toBe(false);
  });

  it('rejects a missing PORT with status 2', async () => {
    const dir = await makeBackendDir('2.0.0');
    const env = { ...process.env };
    delete env.PORT;
    const child = spawn('python3', ['main.py'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    childProcesses.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

    const [code] = (await once(child, 'exit')) as [number | null];

    expect(code).toBe(2);
    expect(stderr).toContain('PORT environment variable is missing');
  });
});

describe('RestartPolicy', () => {
  it('backs off and gives up in window', () => {
    let now = 0;
    const policy = new RestartPolicy({ now: () => now });

    const delays = [1, 2, 3, 4, 5, 6].map(() => policy.next()?.delayMs ?? null);

    expect(delays).toEqual([1000, 2000, 4000, 4000, 4000, null]);
    now = 60_000;
    expect(policy.next()).toEqual({ attempt: 1, delayMs: 1000 });
  });
});

describe('LineSplitter', () => {
  it('cuts long lines and keeps UTF-8', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), 8);
    const euro = Buffer.from('€');

    splitter.push(Buffer.concat([Buffer.from('a\r\nb'), euro.subarray(0, 1)]));
    splitter.push(Buffer.concat([euro.subarray(1), Buffer.from('\n0123456789abc')]));
    splitter.push(Buffer.from('def\ntail'));
    splitter.end();

    expect(lines).toEqual(['a', 'b€', '01234567 [line cut at 8 characters]', 'tail']);
  });
});
