/**
 * A scriptable HTTP server on a loopback address for failure tests: each path
 * gets its own handler, every request is recorded, and a path without a
 * handler returns 404. It serves the GitHub Releases API shape through
 * `githubRelease` and `githubAsset`.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type RouteHandler = (request: http.IncomingMessage, response: http.ServerResponse, index: number) => void;

export interface RecordedCall {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface ReleaseServer {
  /** `http://<host>:<port>`. */
  origin: string;
  /** Every request in arrival order. */
  requests: RecordedCall[];
  /** Sets the handler of `path` (the URL path without query); `index` counts earlier requests to it. */
  route(path: string, handler: RouteHandler): void;
  /** Returns the requests whose path is `path`. */
  requestsTo(path: string): RecordedCall[];
  close(): Promise<void>;
}

/** Starts a server on `host` (127.0.0.1 unless another loopback address is given) and port 0. */
export async function startReleaseServer(host = '127.0.0.1'): Promise<ReleaseServer> {
  const routes = new Map<string, RouteHandler>();
  const requests: RecordedCall[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://placeholder').pathname;
    const index = requests.filter((call) => call.path === path).length;
    requests.push({ method: request.method ?? 'GET', path, headers: request.headers });
    const handler = routes.get(path);
    if (handler === undefined) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    handler(request, response, index);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const origin = `http://${host}:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    requests,
    route: (path, handler) => void routes.set(path, handler),
    requestsTo: (path) => requests.filter((call) => call.path === path),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Returns the lowercase hex SHA-256 of `data`. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Builds one asset in the GitHub Releases API shape. */
export function githubAsset(name: string, url: string, size: number | null, digest: string | null = null): Record<string, unknown> {
  return { name, size, digest, browser_download_url: url };
}

/** Builds one release in the GitHub Releases API shape. */
export function githubRelease(tag: string, assets: Record<string, unknown>[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { tag_name: tag, name: tag, body: `Notes for ${tag}`, draft: false, prerelease: false, published_at: '2024-06-01T00:00:00Z', assets, ...overrides };
}

/** Sends a JSON body with `status`. */
export function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** Sends `body` for a GET, with Content-Length, byte ranges and a strong ETag. */
export function sendBytes(request: http.IncomingMessage, response: http.ServerResponse, body: Buffer): void {
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
  const headers = { 'accept-ranges': 'bytes', etag: `"${sha256Hex(body).slice(0, 16)}"`, 'content-type': 'application/octet-stream' };
  if (range === null) {
    response.writeHead(200, { ...headers, 'content-length': String(body.length) }).end(body);
    return;
  }
  const start = Number(range[1]);
  response.writeHead(206, { ...headers, 'content-length': String(body.length - start), 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
  response.end(body.subarray(start));
}
