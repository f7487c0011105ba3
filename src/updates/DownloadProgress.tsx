import { Progress } from 'radix-ui';
import type { ReactNode } from 'react';
import type { UpdateState } from '../../main/updater/state';
import { formatBytes, formatDuration, formatSpeed } from './format';

type DownloadingState = Extract<UpdateState, { type: 'downloading' }>;

function describeProgress(state: DownloadingState): string {
  const parts: string[] = [];
  if (state.percent !== null && state.total !== null) {
    parts.push(`${Math.floor(state.percent)}%`, `${formatBytes(state.transferred)} of ${formatBytes(state.total)}`);
  } else {
    parts.push(`${formatBytes(state.transferred)} downloaded, size unknown`);
  }
  if (state.bytesPerSecond > 0) {
    parts.push(formatSpeed(state.bytesPerSecond));
    if (state.total !== null && state.total > state.transferred) {
      parts.push(`${formatDuration((state.total - state.transferred) / state.bytesPerSecond)} left`);
    }
  }
  return parts.join(' · ');
}

/** Shows a download's progress bar, with percent, speed and time left; indeterminate when the size is unknown. */
export function DownloadProgress({ state }: { state: DownloadingState }): ReactNode {
  // Rounded down, so the bar reads 100 only when every byte has arrived.
  const value = state.percent === null ? null : Math.floor(state.percent);
  const text = describeProgress(state);
  return (
    <div className="download-progress">
      <Progress.Root
        className="progress"
        value={value}
        max={100}
        aria-label={`Downloading backend ${state.update.version}`}
        getValueLabel={() => text}
      >
        <Progress.Indicator
          className="progress-indicator"
          style={value === null ? undefined : { transform: `translateX(-${100 - value}%)` }}
        />
      </Progress.Root>
      <p className="progress-text">{text}</p>
    </div>
  );
}
