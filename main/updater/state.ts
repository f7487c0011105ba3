import type { UpdateErrorData } from './errors';

/**
 * The update offered by a feed, as plain data (dates are ISO strings).
 */
export interface UpdateInfo {
  /** Version of the offered release, without a leading `v`. */
  version: string;
  /** Version installed when the check ran. */
  currentVersion: string;
  releaseName: string;
  /** Release notes in Markdown, as the feed returned them. */
  releaseNotes: string;
  /** ISO 8601 publication date, or null when the feed gives none. */
  publishedAt: string | null;
  prerelease: boolean;
  assetName: string;
  /** Asset size in bytes from the feed, or null when unknown. */
  assetSize: number | null;
  downloadUrl: string;
  signature: UpdateSignature;
}

/**
 * Signature status of an update. `verified`: its release manifest carries a
 * valid signature from a trusted key (`keyId`) and lists this archive. The
 * archive's own signature, size and SHA-256 are checked after download,
 * before install. `unsigned`: no trusted keys are configured, so nothing
 * proves who made the release, and the UI should warn.
 */
export interface UpdateSignature {
  status: 'verified' | 'unsigned';
  /** Id of the trusted key that signed the release manifest, as minisign prints it; null when unsigned. */
  keyId: string | null;
}

/** Reason a check found nothing to install. */
export type NoUpdateReason = 'up-to-date' | 'no-eligible-release';

/**
 * State of the updater, one variant per step. Transitions:
 *
 *   idle ─check→ checking ─→ available ─download→ downloading ─→ downloaded
 *                        └─→ not-available            │                │
 *   downloaded ─install→ installing ─→ restarting ─→ installed        │
 *   any step ─failure→ error;  cancel during downloading → available  │
 *
 * `seq` grows by one on every change, so a listener can drop a state that
 * arrives after a newer one.
 */
export type UpdateState =
  | { type: 'idle'; seq: number; currentVersion: string | null }
  | { type: 'checking'; seq: number; currentVersion: string | null }
  | { type: 'available'; seq: number; update: UpdateInfo }
  | {
      type: 'not-available';
      seq: number;
      currentVersion: string;
      latestVersion: string | null;
      reason: NoUpdateReason;
    }
  | {
      type: 'downloading';
      seq: number;
      update: UpdateInfo;
      /** Identifies one download attempt; a new attempt may start again at 0 %. */
      downloadId: string;
      transferred: number;
      /** Total bytes, or null when neither Content-Length nor the feed gives a size. */
      total: number | null;
      bytesPerSecond: number;
      /** Finite, 0–100, never decreasing within one downloadId; null when total is unknown. */
      percent: number | null;
    }
  | { type: 'downloaded'; seq: number; update: UpdateInfo; sha256: string }
  | { type: 'installing'; seq: number; update: UpdateInfo }
  | { type: 'restarting'; seq: number; update: UpdateInfo }
  | { type: 'installed'; seq: number; version: string; previousVersion: string | null }
  | {
      type: 'error';
      seq: number;
      error: UpdateErrorData;
      /** State type in which the failure happened. */
      during: UpdateStateType;
      /** Update that was being handled, when there was one. */
      update?: UpdateInfo;
    };

export type UpdateStateType = UpdateState['type'];

/** An update state without its sequence number, as the engine builds it. */
export type UpdateStateInput = UpdateState extends infer S
  ? S extends { seq: number }
    ? Omit<S, 'seq'>
    : never
  : never;

/** Computes download percent: finite, clamped to 0–100, null when the total is unknown. */
export function downloadPercent(transferred: number, total: number | null): number | null {
  if (total === null || !Number.isFinite(total) || total <= 0) return null;
  const percent = (transferred / total) * 100;
  if (!Number.isFinite(percent)) return null;
  return Math.min(100, Math.max(0, percent));
}
