import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createStreamHasher, HashWorkerError, type StreamHasher } from '../main/updater/download-hash';
import { downloadFile } from '../main/updater/download';
import { CancelledError } from '../main/updater/errors';
import { sha256File } from '../main/updater/verify';
import { silentLogger } from '../main/logger';

const MIB = 1024 * 1024;
let dir: string;
const hashers: StreamHasher[] = [];
const servers: http.Server[] = [];

function sha256(...parts: Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

function track(hasher: StreamHasher): StreamHasher {
  hashers.push(hasher);
  return hasher;
}

/** Feeds `data` in pieces of varying size, and waits whenever the hasher returns a promise. */
async function feed(hasher: StreamHasher, data: Buffer): Promise<void> {
  const sizes = [1, 4096, 65_536, 700_001, MIB, 3];
  for (let offset = 0, index = 0; offset < data.length; index += 1) {
    const size = sizes[index % sizes.length]!;
    const waiting = hasher.update(data.subarray(offset, offset + size));
    offset += size;
    if (waiting) await waiting;
  }
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'download-hash-test-'));
});

afterEach(async () => {
  for (const hasher of hashers.splice(0)) hasher.close();
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    }),
  );
  await rm(dir, { recursive: true, force: true });
});

describe('createStreamHasher', () => {
  it.each([true, false])('matches crypto hash (worker %s)', async (useWorker) => {
    const data = randomBytes(5 * MIB + 17);
    const hasher = track(createStreamHasher(useWorker));

    await feed(hasher, data);

    expect(hasher.thread).toBe(useWorker ? 'worker' : 'main');
    expect(await hasher.digest()).toBe(sha256(data));
  });

  it('hashes empty input', async () => {
    const hasher = track(createStreamHasher(true));

    expect(await hasher.digest()).toBe(sha256(Buffer.alloc(0)));
  });

  it('copies bytes before returning', async () => {
    const chunk = Buffer.alloc(1000, 1);
    const hasher = track(createStreamHasher(true));

    hasher.update(chunk);
    chunk.fill(2);

    expect(await hasher.digest()).toBe(sha256(Buffer.alloc(1000, 1)));
  });

  it('asks to wait past the in-flight limit', async () => {
    const data = Buffer.alloc(32 * MIB, 7);
    const hasher = track(createStreamHasher(true));
    let waits = 0;

    for (let offset = 0; offset < data.length; offset += MIB) {
      const waiting = hasher.update(data.subarray(offset, offset + MIB));
      if (waiting) {
        waits += 1;
        await waiting;
      }
    }

    expect(waits).toBeGreaterThan(0);
    expect(await hasher.digest()).toBe(sha256(data));
  });

  it.each([true, false])('continues a file prefix (worker %s)', async (useWorker) => {
    const prefix = randomBytes(2 * MIB + 5);
    const rest = randomBytes(3 * MIB);
    await writeFile(path.join(dir, 'prefix.part'), prefix);
    const hasher = track(createStreamHasher(useWorker));

    await hasher.updateFromFile(path.join(dir, 'prefix.part'));
    await feed(hasher, rest);

    expect(await hasher.digest()).toBe(sha256(prefix, rest));
  });

  it.each([true, false])('reports missing file errno (worker %s)', async (useWorker) => {
    const hasher = track(createStreamHasher(useWorker));

    const error = await hasher.updateFromFile(path.join(dir, 'missing.part')).catch((caught: unknown) => caught);

    expect((error as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect((error as Error).message).toContain('missing.part');
    if (useWorker) expect(error).toBeInstanceOf(HashWorkerError);
  });

  it.each([true, false])('rejects aborted file hash (worker %s)', async (useWorker) => {
    await writeFile(path.join(dir, 'file.part'), Buffer.alloc(MIB));
    const controller = new AbortController();
    controller.abort();
    const hasher = track(createStreamHasher(useWorker));

    const error = await hasher.updateFromFile(path.join(dir, 'file.part'), controller.signal).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(CancelledError);
  });

  it('rejects digest after close', async () => {
    const hasher = track(createStreamHasher(true));
    hasher.update(Buffer.from('abc'));
    hasher.close();

    const error = await hasher.digest().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(HashWorkerError);
  });
});

describe('sha256File on a worker', () => {
  it('hashes a file above the worker threshold', async () => {
    const data = randomBytes(9 * MIB + 1);
    await writeFile(path.join(dir, 'large.bin'), data);

    expect(await sha256File(path.join(dir, 'large.bin'))).toBe(sha256(data));
  });
});

describe('downloadFile with worker hashing', () => {
  async function serve(body: Buffer, stallAfter: number | null): Promise<string> {
    let requests = 0;
    const server = http.createServer((request, response) => {
      requests += 1;
      const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        response.writeHead(206, { 'content-length': String(body.length - start), 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
        response.end(body.subarray(start));
        return;
      }
      response.writeHead(200, { 'content-length': String(body.length), 'accept-ranges': 'bytes', etag: '"w1"' });
      if (requests === 1 && stallAfter !== null) response.write(body.subarray(0, stallAfter));
      else response.end(body);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/asset.bin`;
  }

  it('resumes with the worker hash', async () => {
    const body = randomBytes(6 * MIB + 11);
    const url = await serve(body, 5 * MIB);
    const destination = path.join(dir, 'asset.bin');
    const base = { url, destination, expectedSize: body.length, logger: silentLogger, hashOnWorker: true };

    const stalled = await downloadFile({ ...base, idleTimeoutMs: 300 }).catch((caught: unknown) => caught);
    const result = await downloadFile({ ...base, expectedSha256: sha256(body) });

    expect((stalled as { code?: string }).code).toBe('DOWNLOAD_STALLED');
    expect(result.resumed).toBe(true);
    expect(result.sha256).toBe(sha256(body));
    // Comparing digests keeps a failure readable; toEqual on 6 MiB buffers is very slow.
    expect(sha256(await readFile(destination))).toBe(sha256(body));
  });
});
