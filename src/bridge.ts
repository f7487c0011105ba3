/**
 * The renderer's way to the updater: `window.backendUpdates` inside Electron,
 * or the same API over the HTTP Update API and its server-sent events when
 * the page is served by that API in a plain browser. The HTTP API responds in
 * snake_case; the mapping to the bridge types lives here.
 */
import { z } from 'zod';
import type { UpdateErrorData } from '../main/updater/errors';
import type { CheckResult, DownloadResultInfo, InstallResultInfo, VersionInfo } from '../main/updater/service';
import type { UpdateInfo, UpdateSignature, UpdateState } from '../main/updater/state';
import type { BackendUpdatesApi, BridgeResult, UpdateStateListener } from '../preload/api';

// The page's Content-Security-Policy forbids eval, so zod must not probe for it with `new Function`.
z.config({ jitless: true });

/** Name of the meta tag in which the API server puts its per-run token. */
export const TOKEN_META_NAME = 'backend-updater-token';

const versionJsonSchema = z.object({
  current_version: z.string().nullable(),
  previous_version: z.string().nullable(),
  backend: z.object({
    running: z.boolean(),
    healthy: z.boolean(),
    pid: z.number().nullable(),
    port: z.number(),
    version: z.string().nullable(),
  }),
});

/**
 * Key id as minisign prints it: 16 upper-case hex digits. The dialog shows it
 * verbatim, so any other text is rejected rather than displayed.
 */
const keyIdSchema = z.string().regex(/^[0-9A-F]{16}$/, 'a minisign key id of 16 hex digits');

/** A verified signature always names its key; an unsigned update has none. */
const signatureJsonSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('verified'), key_id: keyIdSchema }),
  z.object({ status: z.literal('unsigned'), key_id: z.null() }),
]);

const checkJsonSchema = z.object({
  update_available: z.boolean(),
  current_version: z.string(),
  latest_version: z.string().nullable(),
  release_name: z.string().nullable(),
  release_notes: z.string().nullable(),
  published_at: z.string().nullable(),
  prerelease: z.boolean().nullable(),
  asset_name: z.string().nullable(),
  asset_size: z.number().nullable(),
  download_url: z.string().nullable(),
  signature: signatureJsonSchema.nullable(),
});

const downloadJsonSchema = z.object({ version: z.string(), sha256: z.string(), size: z.number() });
const installJsonSchema = z.object({ version: z.string(), previous_version: z.string().nullable(), health: z.unknown() });
const cancelJsonSchema = z.object({ cancelled: z.boolean() });

/** The signature inside a pushed state, in the engine's camelCase. */
const signatureSchema = z.discriminatedUnion('status', [
  z.looseObject({ status: z.literal('verified'), keyId: keyIdSchema }),
  z.looseObject({ status: z.literal('unsigned'), keyId: z.null() }),
]);

// Loose objects, so that fields this renderer does not know yet reach the store unchanged.
const updateInfoSchema = z.looseObject({
  version: z.string(),
  currentVersion: z.string(),
  releaseName: z.string(),
  releaseNotes: z.string(),
  publishedAt: z.string().nullable(),
  prerelease: z.boolean(),
  assetName: z.string(),
  assetSize: z.number().nullable(),
  downloadUrl: z.string(),
  signature: signatureSchema,
});

// The state object is the engine's own camelCase type. Its envelope fields are
// checked, and so is its update, which the dialog reads down to the signature.
const stateSchema = z.looseObject({ type: z.string(), seq: z.number(), update: updateInfoSchema.optional() });
const errorJsonSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    retryable: z.boolean().optional(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  }),
});

/** Maps `GET /api/updates/version`. */
export function mapVersionJson(body: unknown): VersionInfo {
  const json = versionJsonSchema.parse(body);
  return { currentVersion: json.current_version, previousVersion: json.previous_version, backend: json.backend };
}

/** Maps `GET /api/updates/check`. */
export function mapCheckJson(body: unknown): CheckResult {
  const json = checkJsonSchema.parse(body);
  if (!json.update_available) {
    return {
      updateAvailable: false,
      currentVersion: json.current_version,
      latestVersion: json.latest_version,
      update: null,
    };
  }
  const { latest_version: version, asset_name: assetName, download_url: downloadUrl, signature } = json;
  if (version === null || assetName === null || downloadUrl === null || signature === null) {
    throw new Error('update_available is true but latest_version, asset_name, download_url or signature is null');
  }
  const update: UpdateInfo = {
    version,
    currentVersion: json.current_version,
    releaseName: json.release_name ?? '',
    releaseNotes: json.release_notes ?? '',
    publishedAt: json.published_at,
    prerelease: json.prerelease ?? false,
    assetName,
    assetSize: json.asset_size,
    downloadUrl,
    signature: mapSignatureJson(signature),
  };
  return { updateAvailable: true, currentVersion: json.current_version, latestVersion: version, update };
}

function mapSignatureJson(json: z.infer<typeof signatureJsonSchema>): UpdateSignature {
  return { status: json.status, keyId: json.key_id };
}

/** Maps `POST /api/updates/download`. */
export function mapDownloadJson(body: unknown): DownloadResultInfo {
  return downloadJsonSchema.parse(body);
}

/** Maps `POST /api/updates/install`. */
export function mapInstallJson(body: unknown): InstallResultInfo {
  const json = installJsonSchema.parse(body);
  return { version: json.version, previousVersion: json.previous_version, health: json.health };
}

/**
 * Checks the envelope fields and the update, signature included, of a state
 * from `GET /api/updates/state` or an SSE event.
 */
export function mapStateJson(body: unknown): UpdateState {
  return stateSchema.parse(body) as unknown as UpdateState;
}

/** Maps an error response. A body in another shape still yields an error that names the status. */
export function mapErrorJson(body: unknown, status: number, route: string): UpdateErrorData {
  const parsed = errorJsonSchema.safeParse(body);
  if (!parsed.success) {
    const message = `${route} failed with HTTP ${status} and no error details.`;
    return { code: 'INTERNAL', message, retryable: status >= 500 };
  }
  const { error } = parsed.data;
  const data: UpdateErrorData = {
    code: error.code as UpdateErrorData['code'],
    message: error.message,
    retryable: error.retryable ?? false,
  };
  if (error.details) data.details = error.details;
  return data;
}

export interface HttpBridgeOptions {
  /** Origin of the API server, such as `http://127.0.0.1:43123`. */
  baseUrl: string;
  /** Per-run token sent as `Authorization: Bearer` on POST requests. */
  token: string | null;
  fetch?: typeof fetch;
  createEventSource?: (url: string) => EventSource;
  /** Delay before reopening an event stream that the server closed. @default 5000 */
  reconnectMs?: number;
}

/** Implements BackendUpdatesApi over the HTTP Update API. */
export function createHttpBackendUpdates(options: HttpBridgeOptions): BackendUpdatesApi {
  const fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));

  async function request<T>(method: 'GET' | 'POST', path: string, map: (body: unknown) => T): Promise<BridgeResult<T>> {
    const route = `${method} ${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (method === 'POST' && options.token) headers.authorization = `Bearer ${options.token}`;
    let response: Response;
    try {
      response = await fetchImpl(`${options.baseUrl}${path}`, { method, headers, cache: 'no-store' });
    } catch (error) {
      const reason = (error as Error).message;
      const message = `Could not reach the Update API at ${options.baseUrl} (${reason}). Check that the app is still running.`;
      return { ok: false, error: { code: 'NETWORK', message, retryable: true } };
    }
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok) return { ok: false, error: mapErrorJson(body, response.status, route) };
    try {
      return { ok: true, value: map(body) };
    } catch (error) {
      const message = `The Update API returned ${route} in an unexpected shape: ${(error as Error).message}`;
      return { ok: false, error: { code: 'INTERNAL', message, retryable: false } };
    }
  }

  return {
    getVersion: () => request('GET', '/api/updates/version', mapVersionJson),
    check: () => request('GET', '/api/updates/check', mapCheckJson),
    download: () => request('POST', '/api/updates/download', mapDownloadJson),
    install: () => request('POST', '/api/updates/install', mapInstallJson),
    cancel: () => request('POST', '/api/updates/cancel', (body) => cancelJsonSchema.parse(body).cancelled),
    getState: () => request('GET', '/api/updates/state', mapStateJson),
    onState: createEventStreamSubscription(options),
  };
}

/**
 * Returns an `onState` over `GET /api/updates/events`. One EventSource serves
 * every listener; it opens with the first listener and closes after the last.
 * NOTE: a restarted API server numbers states from 1 again, and the store
 * drops states whose `seq` is below the last one, so the page needs a reload
 * after a server restart.
 */
function createEventStreamSubscription(options: HttpBridgeOptions): BackendUpdatesApi['onState'] {
  const listeners = new Set<UpdateStateListener>();
  const open = options.createEventSource ?? ((url: string) => new EventSource(url));
  let source: EventSource | null = null;
  let reopenTimer: ReturnType<typeof setTimeout> | null = null;

  const deliver = (event: MessageEvent<string>): void => {
    let state: UpdateState;
    try {
      state = mapStateJson(JSON.parse(event.data));
    } catch (error) {
      console.warn('Ignoring an update event that is not a state', error);
      return;
    }
    for (const listener of [...listeners]) listener(state);
  };

  const connect = (): void => {
    reopenTimer = null;
    const next = open(`${options.baseUrl}/api/updates/events`);
    next.addEventListener('state', deliver as EventListener);
    // EventSource reconnects by itself unless the server refused the stream.
    next.addEventListener('error', () => {
      if (next.readyState !== 2 || listeners.size === 0 || source !== next) return;
      source = null;
      reopenTimer = setTimeout(connect, options.reconnectMs ?? 5000);
    });
    source = next;
  };

  const disconnect = (): void => {
    if (reopenTimer !== null) clearTimeout(reopenTimer);
    reopenTimer = null;
    source?.close();
    source = null;
  };

  return (listener) => {
    const entry: UpdateStateListener = (state) => listener(state);
    listeners.add(entry);
    if (listeners.size === 1) connect();
    return () => {
      if (!listeners.delete(entry)) return;
      if (listeners.size === 0) disconnect();
    };
  };
}

/** Returns the API token that the server put into the page, or null. */
export function readApiToken(doc: Document): string | null {
  return doc.querySelector<HTMLMetaElement>(`meta[name="${TOKEN_META_NAME}"]`)?.content || null;
}

/** Returns the preload's API inside Electron, or the HTTP implementation for this page's origin. */
export function getBackendUpdates(win: Window = window): BackendUpdatesApi {
  if (win.backendUpdates) return win.backendUpdates;
  return createHttpBackendUpdates({ baseUrl: win.location.origin, token: readApiToken(win.document) });
}
