import { toErrorData } from '../updater/errors';
import type { UpdateState } from '../updater/state';

/** Formats a byte count with binary units, e.g. `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Renders one progress line, e.g. `[#######-----]  58% 1.2 MiB/2.0 MiB 3.1 MiB/s`. */
export function renderProgressLine(state: Extract<UpdateState, { type: 'downloading' }>, width = 30): string {
  const speed = `${formatBytes(state.bytesPerSecond)}/s`;
  if (state.percent === null || state.total === null) {
    return `[${'?'.repeat(width)}] ${formatBytes(state.transferred)} ${speed}`;
  }
  const filled = Math.round((state.percent / 100) * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  return `[${bar}] ${state.percent.toFixed(0).padStart(3)}% ${formatBytes(state.transferred)}/${formatBytes(state.total)} ${speed}`;
}

/**
 * Returns a state listener that draws the download progress bar on `stream`.
 * On a terminal the line is redrawn in place; elsewhere one line is printed
 * per 10 % step so that logs stay short.
 */
export function progressPrinter(stream: NodeJS.WriteStream = process.stdout): (state: UpdateState) => void {
  let lastStep = -1;
  let drawing = false;
  return (state) => {
    if (state.type !== 'downloading') {
      if (drawing && stream.isTTY) stream.write('\n');
      drawing = false;
      return;
    }
    const line = renderProgressLine(state);
    if (stream.isTTY) {
      stream.write(`\r${line}`);
      drawing = true;
      return;
    }
    const step = state.percent === null ? -1 : Math.floor(state.percent / 10);
    if (step > lastStep) {
      lastStep = step;
      stream.write(`${line}\n`);
    }
  };
}

/** Prints an error to stderr with its code, as JSON when `json` is set. */
export function printError(error: unknown, json: boolean): void {
  const data = toErrorData(error);
  if (json) process.stderr.write(`${JSON.stringify({ error: data })}\n`);
  else process.stderr.write(`Error [${data.code}]: ${data.message}\n`);
}

/** Prints a result: JSON when `json` is set, otherwise the given text lines. */
export function printResult(json: boolean, value: unknown, lines: string[]): void {
  if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${lines.join('\n')}\n`);
}
