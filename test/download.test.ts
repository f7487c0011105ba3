import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { downloadFile, type DownloadOptions, type DownloadProgress } from '../main/updater/download';
import { CancelledError, UpdateError } from '../main/updater/errors';
import { withRetry } from '../main/updater/http';
import { downloadPercent } from '../main/updater/state';
import type { Logger } from '../main/logger';

const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

type Handler = (request: http.IncomingMessage, response: http.ServerResponse, index: number) => void;

interface TestServer {
  origin: string;
  requests: { url: string; headers: http.IncomingHttpHeaders }[];
  /** performance.now() of every server-side socket close. */
  socketCloseTimes: number[];
  openSockets: Set<Socket>;
}

const servers: http.Server[] = [];
const timers = new Set<NodeJS.Timeout>();
let dir: string;

async function startServer(handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  const state: TestServer = { origin: '', requests: [], socketCloseTimes: [], openSockets: new Set() };
  const server = http.createServer((request, response) => {
    state.requests.push({ url: request.url ?? '', headers: request.headers });
    handler(request, response, state.requests.length - 1);
  });
  server.on('connection', (socket) => {
    state.openSockets.add(socket);
    socket.on('close', () => {
      state.openSockets.delete(socket);
      state.socketCloseTimes.push(performance.now());
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  state.origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  return state;
}

/** Writes `count` copies of `chunk`, one every `everyMs`, then ends the response. */
function trickle(response: http.ServerResponse, chunk: Buffer, everyMs: number, count: number): void {
  let sent = 0;
  const timer = setInterval(() => {
    response.write(chunk);
    sent += 1;
    if (sent >= count) {
      clearInterval(timer);
      timers.delete(timer);
      response.end();
    }
  }, everyMs);
  timers.add(timer);
  response.on('close', () => {
    clearInterval(timer);
    timers.delete(timer);
  });
}

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') } };
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function options(overrides: Partial<DownloadOptions> & Pick<DownloadOptions, 'url'>): DownloadOptions {
  return { destination: path.join(dir, 'asset.zip'), expectedSize: null, logger: recordingLogger().logger, ...overrides };
}

async function captureError(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

function expectUpdateError(error: Error, code: string): UpdateError {
  expect(error).toBeInstanceOf(UpdateError);
  expect((error as UpdateError).code).toBe(code);
  return error as UpdateError;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function expectWellFormedProgress(events: DownloadProgress[], size: number, total: number | null): void {
  expect(events.length).toBeGreaterThan(0);
  let previous = -1;
  for (const event of events) {
    expect(Number.isFinite(event.transferred)).toBe(true);
    expect(Number.isFinite(event.bytesPerSecond)).toBe(true);
    expect(event.bytesPerSecond).toBeGreaterThanOrEqual(0);
    expect(event.transferred).toBeGreaterThanOrEqual(previous);
    expect(event.transferred).toBeGreaterThanOrEqual(0);
    expect(event.total).toBe(total);
    if (total !== null) expect(event.transferred).toBeLessThanOrEqual(total);
    const percent = downloadPercent(event.transferred, event.total);
    if (total !== null) expect(Number.isFinite(percent)).toBe(true);
    previous = event.transferred;
  }
  expect(events.at(-1)?.transferred).toBe(size);
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'download-test-'));
});

afterEach(async () => {
  for (const timer of timers) clearInterval(timer);
  timers.clear();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
  await rm(dir, { recursive: true, force: true });
});

describe('downloadFile redirects and status', () => {
  it('drops Authorization on cross-host redirect', async () => {
    const storage = await startServer((request, response) => {
      if (request.headers.authorization) {
        response.writeHead(400, { 'content-type': 'application/xml' });
        response.end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
        return;
      }
      response.writeHead(200, { 'content-length': '3' });
      response.end('abc');
    }, '127.0.0.2');
    const api = await startServer((_request, response) => {
      const location = `${storage.origin}/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00`;
      response.writeHead(302, { location });
      response.end();
    });
    const { logger, lines } = recordingLogger();

    const result = await downloadFile(
      options({ url: `${api.origin}/repos/o/r/releases/assets/8110464`, authorization: 'token T', expectedSize: 3, logger }),
    );

    expect(await readFile(result.path, 'utf8')).toBe('abc');
    expect(result.sha256).toBe(ABC_SHA256);
    expect(api.requests[0]?.headers.authorization).toBe('token T');
    expect(api.requests[0]?.headers.accept).toBe('application/octet-stream');
    expect(storage.requests).toHaveLength(1);
    expect(storage.requests[0]?.headers.authorization).toBeUndefined();
    expect(lines.join('\n')).not.toContain('token T');
    expect(lines.join('\n')).not.toContain('X-Amz-Signature');
    expect(lines.some((line) => line.startsWith('info download complete'))).toBe(true);
  });

  it('rejects error status and keeps nothing', async () => {
    const storage = await startServer((request, response) => {
      const status = request.headers.authorization ? 400 : 200;
      response.writeHead(status, { 'content-type': 'application/xml' });
      response.end('<Error><Code>InvalidArgument</Code></Error>');
    });
    const destination = path.join(dir, 'asset.zip');
    await writeFile(destination, 'stale bytes from an earlier attempt');

    const error = await captureError(downloadFile(options({ url: `${storage.origin}/x`, authorization: 'token T', expectedSize: 3 })));

    const updateError = expectUpdateError(error, 'DOWNLOAD_HTTP');
    expect(updateError.details?.status).toBe(400);
    expect(updateError.message).toContain('400');
    expect(updateError.retryable).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it('marks server errors as retryable', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(503);
      response.end('busy');
    });
    const attempts: number[] = [];

    const error = await captureError(
      withRetry(
        (attempt) => {
          attempts.push(attempt);
          return downloadFile(options({ url: `${server.origin}/x`, expectedSize: 3 }));
        },
        { retries: 2, baseDelayMs: 1 },
      ),
    );

    expect(expectUpdateError(error, 'DOWNLOAD_HTTP').retryable).toBe(true);
    expect(attempts).toEqual([0, 1, 2]);
    expect(server.requests).toHaveLength(3);
  });
});

describe('downloadFile sizes', () => {
  it('uses feed size without Content-Length', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200);
      const chunks = ['a', 'b', 'c'];
      const timer = setInterval(() => {
        const chunk = chunks.shift();
        if (chunk === undefined) {
          clearInterval(timer);
          response.end();
        } else {
          response.write(chunk);
        }
      }, 30);
      timers.add(timer);
    });
    const events: DownloadProgress[] = [];

    const result = await downloadFile(
      options({ url: `${server.origin}/x`, expectedSize: 3, progressIntervalMs: 0, onProgress: (event) => events.push(event) }),
    );

    expect(result.size).toBe(3);
    expect(result.sha256).toBe(ABC_SHA256);
    expectWellFormedProgress(events, 3, 3);
    expect(events[0]?.transferred).toBe(0);
    expect(events.map((event) => event.transferred)).toContain(1);
  });

  it('reports indeterminate progress without sizes', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200);
      trickle(response, Buffer.from('z'), 10, 5);
    });
    const events: DownloadProgress[] = [];

    const result = await downloadFile(options({ url: `${server.origin}/x`, onProgress: (event) => events.push(event) }));

    expect(result.size).toBe(5);
    expectWellFormedProgress(events, 5, null);
    expect(events.every((event) => downloadPercent(event.transferred, event.total) === null)).toBe(true);
  });

  it('survives a throwing progress listener', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': '3' });
      response.end('abc');
    });
    const { logger, lines } = recordingLogger();

    const result = await downloadFile(
      options({
        url: `${server.origin}/x`,
        expectedSize: 3,
        logger,
        onProgress: () => {
          throw new Error('listener bug');
        },
      }),
    );

    expect(result.sha256).toBe(ABC_SHA256);
    expect(lines.filter((line) => line.includes('listener bug'))).toHaveLength(1);
  });

  it('fails truncated body as incomplete', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': '10' });
      response.write('abc');
      setTimeout(() => response.socket?.destroy(), 50);
    });

    const error = await captureError(downloadFile(options({ url: `${server.origin}/x`, expectedSize: 10 })));

    const updateError = expectUpdateError(error, 'INCOMPLETE_DOWNLOAD');
    expect(updateError.details?.received).toBe(3);
    expect(updateError.details?.expected).toBe(10);
    expect(updateError.message).toContain('3 of 10 bytes');
    expect(updateError.retryable).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects Content-Length that disagrees early', async () => {
    // The served length is that of the archive before notarization, and the feed lists the notarized one.
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': '126798795' });
      trickle(response, Buffer.alloc(64 * 1024), 5, 1000);
    });

    const error = await captureError(downloadFile(options({ url: `${server.origin}/x`, expectedSize: 133058412 })));

    const updateError = expectUpdateError(error, 'SIZE_MISMATCH');
    expect(updateError.details?.actual).toBe(126798795);
    expect(updateError.details?.expected).toBe(133058412);
    expect(updateError.retryable).toBe(false);
    expect(await readdir(dir)).toEqual([]);
    await waitFor(() => server.openSockets.size === 0, 1000);
  });

  it('rejects short chunked body by size', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200);
      response.end('ab');
    });

    const error = await captureError(downloadFile(options({ url: `${server.origin}/x`, expectedSize: 3 })));

    const updateError = expectUpdateError(error, 'SIZE_MISMATCH');
    expect(updateError.details?.actual).toBe(2);
    expect(await readdir(dir)).toEqual([]);
  });

  it('stops oversized body at the limit', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200);
      trickle(response, Buffer.alloc(1024, 1), 2, 100_000);
    });

    const error = await captureError(downloadFile(options({ url: `${server.origin}/x`, maxBytes: 10 * 1024 })));

    const updateError = expectUpdateError(error, 'DOWNLOAD_TOO_LARGE');
    expect(updateError.details?.maxBytes).toBe(10 * 1024);
    expect(await readdir(dir)).toEqual([]);
    await waitFor(() => server.openSockets.size === 0, 1000);
  });

  it('treats bytes past the feed size as too large', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200);
      response.end('abcdef');
    });

    const error = await captureError(downloadFile(options({ url: `${server.origin}/x`, expectedSize: 3 })));

    expectUpdateError(error, 'DOWNLOAD_TOO_LARGE');
    expect(await readdir(dir)).toEqual([]);
  });

  it('maps ENOSPC to disk full', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': String(4096) });
      trickle(response, Buffer.alloc(1024, 7), 10, 4);
    });
    // Test seam: the first write reaches the real file, the second fails like a full disk.
    const createFullDiskStream = (file: string): Writable => {
      const real = createWriteStream(file);
      let writes = 0;
      return new Writable({
        write(chunk: Buffer, _encoding, callback) {
          writes += 1;
          if (writes === 1) {
            real.write(chunk, callback);
            return;
          }
          callback(Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC' }));
        },
        destroy(error, callback) {
          real.destroy();
          real.once('close', () => callback(error));
        },
      });
    };

    const error = await captureError(
      downloadFile(options({ url: `${server.origin}/x`, expectedSize: 4096, createWriteStream: createFullDiskStream })),
    );

    const updateError = expectUpdateError(error, 'DISK_FULL');
    expect(updateError.retryable).toBe(false);
    expect(updateError.message).toContain('asset.zip.part');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('downloadFile stalls', () => {
  // The idle timeout is 1 s instead of 10 s so that the test stays fast.
  it('fails silent connection as stalled', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': '200' });
      response.write(Buffer.alloc(100, 1));
    });
    const startedAt = performance.now();

    const error = await captureError(downloadFile(options({ url: `${server.origin}/x`, expectedSize: 200, idleTimeoutMs: 1000 })));

    const elapsed = performance.now() - startedAt;
    const updateError = expectUpdateError(error, 'DOWNLOAD_STALLED');
    expect(updateError.retryable).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3000);
    await waitFor(() => server.openSockets.size === 0, 1000);
    expect(await readdir(dir)).toEqual([]);
  });

  // One byte every 200 ms against a 1 s idle timeout: the same ratio as one byte every 2 s against 10 s.
  it('completes slow but moving transfer', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': '30' });
      trickle(response, Buffer.from('s'), 200, 30);
    });

    const result = await downloadFile(options({ url: `${server.origin}/x`, expectedSize: 30, idleTimeoutMs: 1000 }));

    expect(result.size).toBe(30);
    expect(await readFile(result.path, 'utf8')).toBe('s'.repeat(30));
  }, 20_000);
});

describe('downloadFile resume', () => {
  const body = Buffer.from(Array.from({ length: 1000 }, (_, index) => index % 251));

  /** Serves `body` with ranges; the first request stalls after 400 bytes. */
  function rangeHandler(onRange: (response: http.ServerResponse, start: number) => void): Handler {
    return (request, response, index) => {
      const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
      if (index === 0) {
        response.writeHead(200, { 'content-length': String(body.length), 'accept-ranges': 'bytes', etag: '"v1"' });
        response.write(body.subarray(0, 400));
        return;
      }
      if (range) {
        onRange(response, Number(range[1]));
        return;
      }
      response.writeHead(200, { 'content-length': String(body.length), 'accept-ranges': 'bytes', etag: '"v1"' });
      response.end(body);
    };
  }

  async function stallFirstAttempt(server: TestServer): Promise<void> {
    const error = await captureError(downloadFile(options({ url: `${server.origin}/x`, expectedSize: body.length, idleTimeoutMs: 300 })));
    expectUpdateError(error, 'DOWNLOAD_STALLED');
    expect((await readFile(path.join(dir, 'asset.zip.part'))).length).toBe(400);
  }

  it('resumes after stall with range', async () => {
    const server = await startServer(
      rangeHandler((response, start) => {
        response.writeHead(206, {
          'content-length': String(body.length - start),
          'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        });
        response.end(body.subarray(start));
      }),
    );
    await stallFirstAttempt(server);
    const events: DownloadProgress[] = [];

    const result = await downloadFile(
      options({ url: `${server.origin}/x`, expectedSize: body.length, onProgress: (event) => events.push(event) }),
    );

    expect(server.requests[1]?.headers.range).toBe('bytes=400-');
    expect(server.requests[1]?.headers['if-range']).toBe('"v1"');
    expect(result.resumed).toBe(true);
    expect(result.sha256).toBe(sha256(body));
    expect(await readFile(result.path)).toEqual(body);
    expect(events[0]?.transferred).toBe(400);
    expectWellFormedProgress(events, body.length, body.length);
    expect(await readdir(dir)).toEqual(['asset.zip']);
  });

  it('restarts when range gets 200', async () => {
    const changed = Buffer.from(body).reverse();
    const server = await startServer(
      rangeHandler((response) => {
        response.writeHead(200, { 'content-length': String(changed.length) });
        response.end(changed);
      }),
    );
    await stallFirstAttempt(server);
    const events: DownloadProgress[] = [];

    const result = await downloadFile(
      options({ url: `${server.origin}/x`, expectedSize: body.length, onProgress: (event) => events.push(event) }),
    );

    expect(server.requests).toHaveLength(2);
    expect(result.resumed).toBe(false);
    expect(result.sha256).toBe(sha256(changed));
    expect(await readFile(result.path)).toEqual(changed);
    expectWellFormedProgress(events, changed.length, changed.length);
    expect(await readdir(dir)).toEqual(['asset.zip']);
  });

  it('restarts when range starts elsewhere', async () => {
    const server = await startServer(
      rangeHandler((response) => {
        response.writeHead(206, { 'content-length': '100', 'content-range': `bytes 0-99/${body.length}` });
        response.end(body.subarray(0, 100));
      }),
    );
    await stallFirstAttempt(server);

    const result = await downloadFile(options({ url: `${server.origin}/x`, expectedSize: body.length }));

    expect(server.requests).toHaveLength(3);
    expect(server.requests[2]?.headers.range).toBeUndefined();
    expect(result.resumed).toBe(false);
    expect(result.sha256).toBe(sha256(body));
  });

  it('keeps partial when resume cannot connect', async () => {
    const server = await startServer(rangeHandler(() => undefined));
    await stallFirstAttempt(server);
    const running = servers.pop();
    running?.closeAllConnections();
    await new Promise<void>((resolve) => running?.close(() => resolve()));

    const error = await captureError(downloadFile(options({ url: `${server.origin}/x`, expectedSize: body.length })));

    expectUpdateError(error, 'NETWORK');
    expect((await readFile(path.join(dir, 'asset.zip.part'))).length).toBe(400);
    expect(existsSync(path.join(dir, 'asset.zip.part.json'))).toBe(true);
  });

  it('deletes partial without range support', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write(body.subarray(0, 400));
    });

    const error = await captureError(downloadFile(options({ url: `${server.origin}/x`, expectedSize: 1000, idleTimeoutMs: 300 })));

    expectUpdateError(error, 'DOWNLOAD_STALLED');
    expect(await readdir(dir)).toEqual([]);
  });

  it('discards partial larger than expected', async () => {
    const server = await startServer((request, response) => {
      response.writeHead(200, { 'content-length': '3', 'accept-ranges': 'bytes' });
      response.end(request.headers.range ? 'bad' : 'abc');
    });
    await writeFile(path.join(dir, 'asset.zip.part'), 'far too many bytes');
    await writeFile(path.join(dir, 'asset.zip.part.json'), '{}');

    const result = await downloadFile(options({ url: `${server.origin}/x`, expectedSize: 3 }));

    expect(server.requests[0]?.headers.range).toBeUndefined();
    expect(result.sha256).toBe(ABC_SHA256);
    expect(await readdir(dir)).toEqual(['asset.zip']);
  });
});

describe('downloadFile cancel', () => {
  function slowHandler(): Handler {
    return (_request, response) => {
      response.writeHead(200, { 'content-length': String(1024 * 1024), 'accept-ranges': 'bytes' });
      trickle(response, Buffer.alloc(1024, 3), 20, 1024);
    };
  }

  it('closes socket and removes partial', async () => {
    const server = await startServer(slowHandler());
    const controller = new AbortController();
    let abortedAt = 0;

    const download = downloadFile(
      options({
        url: `${server.origin}/x`,
        expectedSize: 1024 * 1024,
        signal: controller.signal,
        progressIntervalMs: 0,
        onProgress: (event) => {
          if (event.transferred >= 4096 && abortedAt === 0) {
            abortedAt = performance.now();
            controller.abort();
          }
        },
      }),
    );
    const error = await captureError(download);

    expect(error).toBeInstanceOf(CancelledError);
    await waitFor(() => server.socketCloseTimes.length > 0, 1000);
    expect((server.socketCloseTimes[0] ?? Infinity) - abortedAt).toBeLessThan(1000);
    expect(await readdir(dir)).toEqual([]);
  });

  it('succeeds after five cancelled attempts', async () => {
    const content = Buffer.alloc(64 * 1024, 9);
    const server = await startServer((request, response, index) => {
      if (index < 5) {
        slowHandler()(request, response, index);
        return;
      }
      response.writeHead(200, { 'content-length': String(content.length) });
      response.end(content);
    });

    for (let cycle = 0; cycle < 5; cycle += 1) {
      const controller = new AbortController();
      const download = downloadFile(
        options({
          url: `${server.origin}/x`,
          expectedSize: null,
          signal: controller.signal,
          progressIntervalMs: 0,
          onProgress: (event) => {
            if (event.transferred > 0) controller.abort();
          },
        }),
      );
      expect(await captureError(download)).toBeInstanceOf(CancelledError);
      expect(existsSync(path.join(dir, 'asset.zip.part'))).toBe(false);
    }
    const result = await downloadFile(options({ url: `${server.origin}/x`, expectedSize: content.length }));

    expect(result.sha256).toBe(sha256(content));
    expect(result.resumed).toBe(false);
    expect(await readdir(dir)).toEqual(['asset.zip']);
    await waitFor(() => server.socketCloseTimes.length >= 5, 1000);
  });

  it('rejects at once when already aborted', async () => {
    const server = await startServer(slowHandler());
    const controller = new AbortController();
    controller.abort();

    const error = await captureError(downloadFile(options({ url: `${server.origin}/x`, signal: controller.signal })));

    expect(error).toBeInstanceOf(CancelledError);
    expect(server.requests).toHaveLength(0);
  });
});
