import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** One response of a backend's health endpoint, or a failed probe. */
export interface HealthSample {
  ok: boolean;
  /** The `version` of the JSON body, or null. */
  version: string | null;
}

/** Sends one GET on a new connection and never rejects; a refused or broken connection is `ok: false`. */
export function probeHealth(port: number, timeoutMs = 500): Promise<HealthSample> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/health', agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        let version: string | null = null;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: unknown };
          version = typeof body.version === 'string' ? body.version : null;
        } catch {
          // A body that is not JSON has no version.
        }
        resolve({ ok: response.statusCode === 200, version });
      });
      response.on('error', () => resolve({ ok: false, version: null }));
    });
    request.setTimeout(timeoutMs, () => request.destroy());
    request.on('error', () => resolve({ ok: false, version: null }));
  });
}

/** The outage a poller saw: from the last healthy response of one version to the first healthy response of another. */
export interface SwapObservation {
  /** Milliseconds between the last OK of the old version and the first OK of the new one, or null when no switch was seen. */
  downtimeMs: number | null;
  fromVersion: string | null;
  toVersion: string | null;
  /** Wall-clock times (epoch milliseconds, sub-millisecond precision) of the two ends of the outage, comparable across processes. */
  lastOldOkAt: number | null;
  firstNewOkAt: number | null;
  /** Probes sent. */
  probes: number;
  /** Probes that got no healthy response. */
  failedProbes: number;
}

/**
 * Probes `port` every `intervalMs` until `stopped()` returns true, and
 * returns the switch from one version to the next. Both ends of the outage
 * are times of this process, so no clocks are compared.
 */
export async function watchSwap(port: number, intervalMs: number, stopped: () => boolean): Promise<SwapObservation> {
  const observation: SwapObservation = {
    downtimeMs: null,
    fromVersion: null,
    toVersion: null,
    lastOldOkAt: null,
    firstNewOkAt: null,
    probes: 0,
    failedProbes: 0,
  };
  let lastOk: { at: number; version: string | null } | null = null;
  while (!stopped()) {
    const startedAt = performance.now();
    const sample = await probeHealth(port);
    const at = performance.now();
    observation.probes += 1;
    if (!sample.ok) observation.failedProbes += 1;
    if (sample.ok) {
      if (lastOk !== null && sample.version !== lastOk.version && observation.downtimeMs === null) {
        observation.downtimeMs = at - lastOk.at;
        observation.fromVersion = lastOk.version;
        observation.toVersion = sample.version;
        observation.lastOldOkAt = performance.timeOrigin + lastOk.at;
        observation.firstNewOkAt = performance.timeOrigin + at;
      }
      lastOk = { at, version: sample.version };
    }
    await sleep(Math.max(0, intervalMs - (performance.now() - startedAt)));
  }
  return observation;
}

/** Polls `port` every `intervalMs` until the first healthy response and returns its time (performance.now()). */
export async function waitUntilHealthy(port: number, intervalMs: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const startedAt = performance.now();
    if ((await probeHealth(port)).ok) return performance.now();
    await sleep(Math.max(0, intervalMs - (performance.now() - startedAt)));
  }
  throw new Error(`backend on port ${port} did not respond healthy within ${timeoutMs} ms`);
}
