import { formatSummary, type Summary } from './stats';

/** Whether a measured figure meets its goal. `info` rows have no goal. */
export type RowStatus = 'met' | 'missed' | 'info';

/** One line of the results table. */
export interface ResultRow {
  /** Figure number and name, such as `1 download`. */
  figure: string;
  /** Measured quantity with its unit. */
  measure: string;
  summary: Summary;
  /** Decimals shown. @default 2 */
  digits?: number;
  /** Goal as text, such as `<= 1.10`, or an empty string. */
  goal: string;
  status: RowStatus;
}

/** Builds a row whose goal is an upper bound on the median. */
export function boundRow(figure: string, measure: string, summary: Summary, limit: number, digits = 2): ResultRow {
  return { figure, measure, summary, digits, goal: `<= ${limit}`, status: summary.median <= limit ? 'met' : 'missed' };
}

/** Builds a row without a goal. */
export function infoRow(figure: string, measure: string, summary: Summary, digits = 2): ResultRow {
  return { figure, measure, summary, digits, goal: '', status: 'info' };
}

const RESULT_TEXT: Record<RowStatus, string> = { met: 'met', missed: '**missed**', info: '' };

/** Renders rows as a Markdown table: median, min-max, goal and result. */
export function renderTable(rows: ResultRow[]): string {
  const lines = ['| Figure | Measure | Median (min-max) | Runs | Goal | Result |', '| --- | --- | --- | --- | --- | --- |'];
  for (const row of rows) {
    const result = RESULT_TEXT[row.status];
    lines.push(`| ${row.figure} | ${row.measure.replaceAll('|', '\\|')} | ${formatSummary(row.summary, row.digits ?? 2)} | ${row.summary.runs} | ${row.goal} | ${result} |`);
  }
  return lines.join('\n');
}
