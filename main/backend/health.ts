import http from 'node:http';

/** Result of one health probe. */
export interface BackendHealth {
  /** True when the endpoint returned HTTP 200. */
  ok: boolean;
  /** HTTP status, or 0 when no response arrived. */
  status: number;
  /** Parsed JSON body, the raw text when it is not JSON, or null without a response. */
  body: unknown;
  /** The `version` string of the JSON body, or null. */
  version: string | null;
}

/** A health probe with the reason it failed, for log lines and error messages. */
export interface HealthProbe extends BackendHealth {
  /** Reason that no response arrived (for example `connect ECONNREFUSED`), or null. */
  failure: string | null;
}

export interface HealthTarget {
  host: string;
  port: number;
  path: string;
}

// A health response is a small JSON object. Anything past this size is dropped.
const MAX_BODY_BYTES = 64 * 1024;

/** Sends one GET to the health endpoint and never rejects: failures come back as `ok: false`. */
export function probeHealth(target: HealthTarget, timeoutMs: number): Promise<HealthProbe> {
  return new Promise((resolve) => {
    // agent: false opens a fresh connection per probe, so no kept-alive socket
    // outlives the backend process.
    const request = http.get(
      { host: target.host, port: target.port, path: target.path, agent: false, headers: { accept: 'application/json' } },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size >= MAX_BODY_BYTES) return;
          chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () => resolve(toProbe(response.statusCode ?? 0, Buffer.concat(chunks))));
        response.on('error', (error) => resolve(failedProbe(error)));
      },
    );
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no response within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve(failedProbe(error)));
  });
}

/** Describes a probe for a message: `HTTP 503` or the connection failure. */
export function describeProbe(probe: HealthProbe | null): string {
  if (probe === null) return 'no probe completed';
  if (probe.failure !== null) return probe.failure;
  return `HTTP ${probe.status}`;
}

function toProbe(status: number, raw: Buffer): HealthProbe {
  const text = raw.subarray(0, MAX_BODY_BYTES).toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // A body that is not JSON stays as text.
  }
  return { ok: status === 200, status, body, version: readVersion(body), failure: null };
}

function failedProbe(error: Error): HealthProbe {
  return { ok: false, status: 0, body: null, version: null, failure: error.message };
}

function readVersion(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const version = (body as Record<string, unknown>).version;
  return typeof version === 'string' ? version : null;
}
