/** Median, range and paired ratios of repeated measurements. */

/** Summary of one measured figure over several runs. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** Returns the median, minimum and maximum of `values`, which must not be empty. */
export function summarize(values: number[]): Summary {
  if (values.length === 0) throw new Error('summarize needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

/**
 * Returns the ratio of each pair `ours[i] / reference[i]`, summarized. Pairs
 * are taken from runs made back to back, so a slowdown of the shared machine
 * hits both members of a pair and cancels out of the ratio.
 */
export function pairedRatios(ours: number[], reference: number[]): Summary {
  if (ours.length !== reference.length) throw new Error(`paired ratios need equal counts, got ${ours.length} and ${reference.length}`);
  return summarize(ours.map((value, index) => value / reference[index]!));
}

/** Returns `bytes` per `milliseconds`, in MiB/s. */
export function mibPerSecond(bytes: number, milliseconds: number): number {
  return bytes / 1024 ** 2 / (milliseconds / 1000);
}

/** Formats a number with `digits` decimals, or with none when it is 100 or more. */
export function formatNumber(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(digits);
}

/** Formats a summary as `median (min-max)`. */
export function formatSummary(summary: Summary, digits = 2): string {
  return `${formatNumber(summary.median, digits)} (${formatNumber(summary.min, digits)}-${formatNumber(summary.max, digits)})`;
}
