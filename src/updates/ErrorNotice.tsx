import type { ReactNode } from 'react';
import type { UpdateErrorData } from '../../preload/api';
import type { UpdateStateType } from '../../main/updater/state';

const TITLES: Partial<Record<UpdateStateType, string>> = {
  checking: 'Checking for updates failed',
  downloading: 'Download failed',
  installing: 'Install failed',
  restarting: 'Restarting the backend failed',
};

/** Extra advice for codes where the engine's message alone does not say what happened to the files. */
const HINTS: Partial<Record<UpdateErrorData['code'], string>> = {
  CHECKSUM_MISMATCH: 'The downloaded file was damaged or altered and has been deleted.',
  SIGNATURE_INVALID: 'The download is not signed by the publisher and has been deleted.',
  HEALTH_CHECK_FAILED: 'The previous backend version was restored.',
  DISK_FULL: 'Free some disk space, then try again.',
  RATE_LIMITED: 'The release server limits requests; try again later.',
};

/** Shows an update error with its message and, when a retry can help, a Retry button. */
export function ErrorNotice(props: { error: UpdateErrorData; during?: UpdateStateType; onRetry?: () => void }): ReactNode {
  const title = (props.during && TITLES[props.during]) ?? 'The update failed';
  const hint = HINTS[props.error.code];
  return (
    <div role="alert" className="error-notice" data-error-code={props.error.code}>
      <p>
        <strong>{title}.</strong> {props.error.message}
      </p>
      {hint ? <p>{hint}</p> : null}
      {props.onRetry ? (
        <button type="button" onClick={props.onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}
