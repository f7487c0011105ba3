import fs from 'node:fs/promises';
import { renderMachine, type MachineFacts } from './machine';

/** Line after which each run is inserted, so that the newest run comes first and older ones stay below. */
export const RUNS_MARKER = '<!-- bench runs, newest first; `npm run bench` inserts each new run below this line -->';

export interface RecordedRun {
  facts: MachineFacts;
  argv: string[];
  seconds: number;
  table: string;
}

function renderRun(run: RecordedRun): string {
  const command = ['npm run bench', ...(run.argv.length > 0 ? ['--', ...run.argv] : [])].join(' ');
  return [
    `### Run of ${run.facts.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    renderMachine(run.facts),
    `- Command: \`${command}\``,
    `- Bench time: ${run.seconds.toFixed(0)} s`,
    '',
    run.table,
    '',
  ].join('\n');
}

/**
 * Inserts the run below RUNS_MARKER in `file`, keeping every earlier run, so
 * that a regression shows against the previous table. A missing file, or one
 * without the marker, gets the marker appended first.
 */
export async function recordRun(file: string, run: RecordedRun): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    text = '# Benchmarks\n';
  }
  if (!text.includes(RUNS_MARKER)) text = `${text.trimEnd()}\n\n## Recorded runs\n\n${RUNS_MARKER}\n`;
  const at = text.indexOf(RUNS_MARKER) + RUNS_MARKER.length;
  await fs.writeFile(file, `${text.slice(0, at)}\n\n${renderRun(run)}${text.slice(at)}`);
}
