import fs from 'node:fs/promises';
import path from 'node:path';
import { parseConfig } from '../../main/config';
import { startLocalFeed } from '../../main/demo/local-feed';
import { silentLogger } from '../../main/logger';
import { BackendUpdater } from '../../main/updater/updater';
import { MIB, type BenchContext } from './context';
import { writeRandomFile } from './data';
import { boundRow, infoRow, type ResultRow } from './report';
import { summarize } from './stats';

interface ProgressRun {
  /** Times (performance.now()) of the `downloading` states. */
  times: number[];
  lastPercent: number | null;
}

/** Returns the largest number of states that fall in one window of one second. */
function maxPerSecond(times: number[]): number {
  let maxCount = 0;
  for (let first = 0, last = 0; last < times.length; last += 1) {
    while (times[last]! - times[first]! >= 1000) first += 1;
    maxCount = Math.max(maxCount, last - first + 1);
  }
  return maxCount;
}

/** Checks and downloads once with a new updater, counting the `downloading` states it emits. */
async function downloadOnce(feedUrl: string, home: string): Promise<ProgressRun> {
  await fs.rm(home, { recursive: true, force: true });
  const config = parseConfig({ home, feedUrl });
  const updater = new BackendUpdater({ config, logger: silentLogger });
  await updater.init();
  const run: ProgressRun = { times: [], lastPercent: null };
  const unsubscribe = updater.onState((state) => {
    if (state.type !== 'downloading') return;
    run.times.push(performance.now());
    run.lastPercent = state.percent;
  });
  try {
    await updater.check();
    await updater.download();
  } finally {
    unsubscribe();
  }
  return run;
}

/**
 * Figure 5: how many `downloading` states BackendUpdater emits per second
 * during a fast download from a local feed, which is what reaches the UI
 * bridge, and the percent of the last one.
 */
export async function benchProgress(context: BenchContext): Promise<ResultRow[]> {
  const root = path.join(context.workDir, 'progress');
  await fs.mkdir(root, { recursive: true });
  const asset = path.join(root, 'python-backend-5.0.0.zip');
  await writeRandomFile(asset, context.downloadBytes, 'progress-asset');
  const feed = await startLocalFeed({ releases: [{ version: '5.0.0', notes: 'Bench release.', files: [asset] }] });
  const runs: ProgressRun[] = [];
  try {
    for (let index = 0; index < context.runs; index += 1) {
      const run = await downloadOnce(feed.url, path.join(root, 'home'));
      runs.push(run);
      context.log(`progress run ${index + 1}/${context.runs}: ${run.times.length} states, last at ${run.lastPercent ?? 'unknown'} %`);
    }
  } finally {
    await feed.close();
    await fs.rm(root, { recursive: true, force: true });
  }
  const perSecond = runs.map((run) => (run.times.length - 1) / ((run.times.at(-1)! - run.times[0]!) / 1000));
  const lastPercents = runs.map((run) => run.lastPercent ?? 0);
  return [
    infoRow('5 progress', `downloading states per second, ${context.downloadBytes / MIB} MiB from a local feed`, summarize(perSecond), 1),
    boundRow('5 progress', 'most downloading states in any 1 s window', summarize(runs.map((run) => maxPerSecond(run.times))), 11, 0),
    infoRow('5 progress', 'downloading states per download', summarize(runs.map((run) => run.times.length)), 0),
    {
      figure: '5 progress',
      measure: 'percent of the last downloading state',
      summary: summarize(lastPercents),
      digits: 0,
      goal: '= 100 in every run',
      status: lastPercents.every((percent) => percent === 100) ? 'met' : 'missed',
    },
  ];
}
