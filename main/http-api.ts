import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from './logger';
import { createLogger } from './logger';
import { serveStatic } from './http-static';
import { toErrorData, UpdateError, type UpdateErrorCode } from './updater/errors';
import type { CheckResult, UpdaterService, VersionInfo } from './updater/service';

/** Updater operations the API serves; `checkFor` checks as if another version were installed, without changing state. */
export interface HttpApiUpdater extends UpdaterService {
  checkFor(currentVersion: string): Promise<CheckResult>;
  currentVersion(): Promise<string | null>;
}

export interface HttpApiOptions {
  updater: HttpApiUpdater;
  /** Data folder: the per-run token is written to `<home>/api-token` with mode 0600. */
  home: string;
  /** Port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** Folder of the built renderer served at `/`; absent means no UI. */
  uiDir?: string | null;
  logger?: Logger;
  /** Milliseconds between SSE keep-alive comments. */
  heartbeatMs?: number;
}

export interface HttpApiServer {
  url: string;
  port: number;
  token: string;
  tokenFile: string;
  close(): Promise<void>;
}

const HTTP_STATUS: Partial<Record<UpdateErrorCode, number>> = {
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  BUSY: 409,
  INVALID_STATE: 409,
  NOT_CANCELLABLE: 409,
  CANCELLED: 409,
  LOCKED: 409,
  RATE_LIMITED: 429,
  NETWORK: 502,
  FEED_HTTP: 502,
  DOWNLOAD_HTTP: 502,
  DOWNLOAD_STALLED: 504,
  INTERNAL: 500,
  HEALTH_CHECK_FAILED: 500,
  BACKEND_START_FAILED: 500,
  DISK_FULL: 507,
};

const MAX_BODY_BYTES = 64 * 1024;
const versionQuerySchema = z.string().regex(/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'a semantic version such as 2.0.0');
/**
 * Body of a POST: empty, or JSON naming the version the client expects. A
 * version that differs from the update on offer is rejected, so a client
 * never installs something other than what it showed its user.
 */
const postBodySchema = z
  .object({
    version: versionQuerySchema.optional(),
    current_version: versionQuerySchema.optional(),
  })
  .strict();

/** Maps a check result to the snake_case JSON that HTTP clients and `--json` receive. */
export function checkResultJson(result: CheckResult): Record<string, unknown> {
  const update = result.update;
  return {
    update_available: result.updateAvailable,
    current_version: result.currentVersion,
    latest_version: result.latestVersion,
    release_name: update?.releaseName ?? null,
    release_notes: update?.releaseNotes ?? null,
    published_at: update?.publishedAt ?? null,
    prerelease: update?.prerelease ?? null,
    asset_name: update?.assetName ?? null,
    asset_size: update?.assetSize ?? null,
    download_url: update?.downloadUrl ?? null,
    signature: update ? { status: update.signature.status, key_id: update.signature.keyId } : null,
  };
}

/** Maps version information to snake_case JSON. */
export function versionJson(info: VersionInfo): Record<string, unknown> {
  return { current_version: info.currentVersion, previous_version: info.previousVersion, backend: info.backend };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

function sendError(response: ServerResponse, error: unknown): void {
  const data = toErrorData(error);
  sendJson(response, HTTP_STATUS[data.code] ?? 422, { error: data });
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new UpdateError('INVALID_INPUT', `Request body is larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new UpdateError('INVALID_INPUT', 'Request body is not valid JSON. Send no body or {}.');
  }
}

/** Writes the token file with mode 0600, replacing any file from an earlier run. */
async function writeTokenFile(file: string, token: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.rm(file, { force: true });
  await fs.writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
}

/**
 * Starts the HTTP Update API on 127.0.0.1. Every request must name this
 * server in `Host` (a DNS-rebinding page names its own host), when it sends
 * `Origin`, this server's own origin, and when it sends `Sec-Fetch-Site`,
 * `same-origin` or `none`. POST requests also need
 * `Authorization: Bearer <token>`: missing is 401, wrong is 403.
 */
export async function startHttpApi(options: HttpApiOptions): Promise<HttpApiServer> {
  const logger = options.logger ?? createLogger('http-api');
  const { updater } = options;
  const token = randomBytes(32).toString('base64url');
  const tokenFile = path.join(options.home, 'api-token');
  const server = http.createServer();
  const sseClients = new Set<ServerResponse>();
  let allowedHosts = new Set<string>();

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const requestId = randomUUID().slice(0, 8);
    handle(request, response, requestId).catch((error: unknown) => {
      const data = toErrorData(error);
      logger.warn(`request ${requestId} ${request.method} ${request.url} failed: ${data.code}: ${data.message}`);
      if (!response.headersSent) sendError(response, error);
      else response.destroy();
    });
  });

  function checkOrigin(request: IncomingMessage): void {
    const host = (request.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(host)) throw new UpdateError('FORBIDDEN', `Host "${host}" is not this API's address. Use http://127.0.0.1:${port}.`);
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedHosts.has(origin.toLowerCase().replace(/^http:\/\//, ''))) {
      throw new UpdateError('FORBIDDEN', `Requests from origin ${origin} are not allowed.`);
    }
    // Browsers send no Origin with a cross-site <img> or <script> GET, but they do send
    // Sec-Fetch-Site. Without this rule another local web page could start checks.
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new UpdateError('FORBIDDEN', `Requests from other sites are not allowed (Sec-Fetch-Site: ${site}). Open the update page at http://127.0.0.1:${port}.`);
    }
  }

  function checkToken(request: IncomingMessage): void {
    const header = request.headers.authorization;
    if (!header) throw new UpdateError('UNAUTHORIZED', `Missing "Authorization: Bearer <token>"; the token is in ${tokenFile}.`);
    const expected = Buffer.from(`Bearer ${token}`);
    const received = Buffer.from(header);
    if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
      throw new UpdateError('FORBIDDEN', `Invalid API token; read the current one from ${tokenFile}.`);
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
    checkOrigin(request);
    const url = new URL(request.url ?? '/', `http://${request.headers.host}`);
    const route = `${request.method} ${url.pathname.replace(/\/+$/, '') || '/'}`;
    logger.debug(`request ${requestId} ${route}`);

    let expectedVersion: string | null = null;
    if (request.method === 'POST') {
      checkToken(request);
      const body = postBodySchema.safeParse(await readJsonBody(request));
      if (!body.success) {
        throw new UpdateError('INVALID_INPUT', `Invalid body for ${route}: send no body, {} or {"version": "X.Y.Z"}.`);
      }
      expectedVersion = body.data.version?.replace(/^v/, '') ?? null;
    }
    switch (route) {
      case 'GET /api/updates/version':
        return sendJson(response, 200, { ...versionJson(await updater.getVersion()), state: updater.getState() });
      case 'GET /api/updates/state':
        return sendJson(response, 200, updater.getState());
      case 'GET /api/updates/check':
        return sendJson(response, 200, checkResultJson(await runCheck(url.searchParams.get('current_version'))));
      case 'GET /api/updates/events':
        return openEventStream(request, response);
      case 'POST /api/updates/download': {
        await checkExpectedVersion(expectedVersion);
        const result = await updater.download();
        return sendJson(response, 200, { version: result.version, sha256: result.sha256, size: result.size });
      }
      case 'POST /api/updates/install': {
        await checkExpectedVersion(expectedVersion);
        const result = await updater.install();
        return sendJson(response, 200, { version: result.version, previous_version: result.previousVersion, health: result.health });
      }
      case 'POST /api/updates/cancel':
        return sendJson(response, 200, { cancelled: await updater.cancel() });
    }
    if (request.method === 'GET' && !url.pathname.startsWith('/api/') && options.uiDir) {
      if (await serveStatic(options.uiDir, url.pathname, token, response)) return;
    }
    const known = ['/api/updates/version', '/api/updates/state', '/api/updates/check', '/api/updates/events', '/api/updates/download', '/api/updates/install', '/api/updates/cancel'];
    const status = known.includes(url.pathname) ? 405 : 404;
    sendJson(response, status, { error: { code: 'INVALID_INPUT', message: `${status === 405 ? 'Method not allowed' : 'Not found'}: ${route}.`, retryable: false } });
  }

  /** Rejects a request whose body names another version than the update on offer. */
  async function checkExpectedVersion(expected: string | null): Promise<void> {
    if (expected === null) return;
    const state = updater.getState();
    const offered = 'update' in state && state.update ? state.update.version : (await updater.check()).latestVersion;
    if (offered !== expected) {
      throw new UpdateError('INVALID_STATE', `The update on offer is ${offered ?? 'none'}, not the requested ${expected}. Check for updates again.`);
    }
  }

  async function runCheck(currentVersion: string | null): Promise<CheckResult> {
    if (currentVersion === null) return updater.check();
    const parsed = versionQuerySchema.safeParse(currentVersion);
    if (!parsed.success) throw new UpdateError('INVALID_INPUT', `Invalid current_version "${currentVersion}": expected a semantic version such as 2.0.0.`);
    const normalized = parsed.data.replace(/^v/, '');
    if (normalized === (await updater.currentVersion())) return updater.check();
    return updater.checkFor(normalized);
  }

  function openEventStream(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = (state: unknown): void => {
      response.write(`event: state\ndata: ${JSON.stringify(state)}\n\n`);
    };
    send(updater.getState());
    const unsubscribe = updater.onState(send);
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), options.heartbeatMs ?? 15_000);
    sseClients.add(response);
    request.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      sseClients.delete(response);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  await writeTokenFile(tokenFile, token);
  const url = `http://127.0.0.1:${port}`;
  logger.info(`HTTP Update API listening on ${url} (token in ${tokenFile})`);

  return {
    url,
    port,
    token,
    tokenFile,
    close: async () => {
      for (const client of sseClients) client.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(tokenFile, { force: true });
      logger.info(`HTTP Update API on ${url} stopped`);
    },
  };
}
