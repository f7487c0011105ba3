import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** A static file server on 127.0.0.1 for the benchmark. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /** Returns the URL of a file in the served folder. */
  urlOf(name: string): string;
  close(): Promise<void>;
}

/** Read size of the server. Large reads keep the server from being the slowest step of a download. */
const READ_SIZE = 1024 * 1024;

type ByteRange = { start: number; end: number } | 'unsatisfiable' | null;

/** Parses a single `bytes=N-`, `bytes=N-M` or `bytes=-N` range; null means the whole file. */
function parseRange(header: string | undefined, size: number): ByteRange {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const length = Number(match[2]);
    return length === 0 ? 'unsatisfiable' : { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  return end < start ? null : { start, end };
}

function serveFile(request: http.IncomingMessage, response: http.ServerResponse, file: string, size: number): void {
  const range = parseRange(request.headers.range, size);
  const headers = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  if (range === 'unsatisfiable') {
    response.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const partial = range === null ? {} : { 'content-range': `bytes ${start}-${end}/${size}` };
  response.writeHead(range === null ? 200 : 206, { ...headers, ...partial, 'content-length': Math.max(0, end - start + 1) });
  if (request.method === 'HEAD' || size === 0) {
    response.end();
    return;
  }
  fs.createReadStream(file, { start, end, highWaterMark: READ_SIZE })
    .on('error', (error) => response.destroy(error))
    .pipe(response);
}

/**
 * Serves the files of `folder` (not its subfolders) under `/<name>` with
 * single byte ranges, and returns 404 for anything else.
 */
export async function startStaticServer(folder: string): Promise<StaticServer> {
  const server = http.createServer((request, response) => {
    const name = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname.slice(1));
    const file = path.join(folder, path.basename(name));
    fs.stat(file, (error, stats) => {
      if (error !== null || !stats.isFile() || name.includes('/')) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${name}\n`);
        return;
      }
      serveFile(request, response, file, stats.size);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    urlOf: (name) => `${origin}/${encodeURIComponent(name)}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
