import type { ReactNode } from 'react';
import type { UpdateErrorData } from '../../preload/api';
import type { UpdateStateType } from '../../main/updater/state';

const TITLES: Partial<Record<UpdateStateType, string>> = {
  checking: 'Checking for updates failed',
  downloading: 'Download failed',
  installing: 'Install failed',
  restarting: 'Restarting the backend failed',
};

/** Codes of a failed signature check, after which the update's "Signed by" notice no longer holds. */
export const SIGNATURE_ERROR_CODES: ReadonlySet<UpdateErrorData['code']> = new Set(['SIGNATURE_INVALID', 'SIGNATURE_MISSING', 'MANIFEST_MISMATCH']);

/** Returns true when `error` reports a failed signature check. */
export function isSignatureError(error: UpdateErrorData): boolean {
  return SIGNATURE_ERROR_CODES.has(error.code);
}

/**
 * Explanations of signature failures for the app's user, who cannot fix the
 * release. The engine's message addresses the publisher, so it moves into
 * the collapsed details.
 */
const SIGNATURE_EXPLANATIONS: Partial<Record<UpdateErrorData['code'], string>> = {
  SIGNATURE_INVALID: "The download does not match the publisher's signature. It may have been changed on the way.",
  SIGNATURE_MISSING: 'The release has no signature from a trusted key.',
  MANIFEST_MISMATCH: 'The file does not match what the publisher signed for this version and platform.',
};

const SIGNATURE_ADVICE =
  "The update was not installed, and the installed backend keeps running. Try again later, or contact the app's publisher if this keeps happening.";

/** Extra advice for codes where the engine's message alone does not say what happened to the files. */
const HINTS: Partial<Record<UpdateErrorData['code'], string>> = {
  CHECKSUM_MISMATCH: 'The downloaded file was damaged or altered and has been deleted.',
  HEALTH_CHECK_FAILED: 'The previous backend version was restored.',
  DISK_FULL: 'Free some disk space, then try again.',
  RATE_LIMITED: 'The release server limits requests; try again later.',
};

/** Shows an update error with its message and, when a retry can help, a Retry button. */
export function ErrorNotice(props: { error: UpdateErrorData; during?: UpdateStateType; onRetry?: () => void }): ReactNode {
  const title = (props.during && TITLES[props.during]) ?? 'The update failed';
  const explanation = SIGNATURE_EXPLANATIONS[props.error.code];
  const hint = HINTS[props.error.code];
  return (
    <div role="alert" className="error-notice" data-error-code={props.error.code}>
      <p>
        <strong>{title}.</strong> {explanation ?? props.error.message}
      </p>
      {explanation ? <p>{SIGNATURE_ADVICE}</p> : null}
      {explanation ? (
        <details>
          <summary>Technical details</summary>
          <p>{props.error.message}</p>
        </details>
      ) : null}
      {hint ? <p>{hint}</p> : null}
      {props.onRetry ? (
        <button type="button" onClick={props.onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}
