import fs from 'node:fs/promises';
import path from 'node:path';
import { parseConfig } from '../../main/config';
import { startLocalFeed, type LocalFeed, type LocalRelease } from '../../main/demo/local-feed';
import { silentLogger } from '../../main/logger';
import { BackendUpdater } from '../../main/updater/updater';
import type { BenchContext } from './context';
import { infoRow, type ResultRow } from './report';
import { summarize } from './stats';

const RELEASE_COUNT = 300;
const PAGE_SIZE = 100;

interface CheckRun {
  firstMs: number;
  firstRequests: number;
  repeatMs: number;
  repeatRequests: number;
  /** Requests of the repeated check that carried If-None-Match. */
  repeatConditional: number;
}

async function timedCheck(updater: BackendUpdater, feed: LocalFeed): Promise<{ ms: number; requests: LocalFeed['requests'] }> {
  const before = feed.requests.length;
  const startedAt = performance.now();
  const result = await updater.check();
  const ms = performance.now() - startedAt;
  if (!result.updateAvailable) throw new Error('the bench feed offered no update');
  return { ms, requests: feed.requests.slice(before) };
}

/** Writes one small asset per release, each a hard link to the same file under its versioned name. */
async function createReleases(root: string): Promise<LocalRelease[]> {
  const asset = path.join(root, 'asset.zip');
  await fs.writeFile(asset, 'bench asset');
  const releases: LocalRelease[] = [];
  for (let index = 0; index < RELEASE_COUNT; index += 1) {
    const version = `1.${index}.0`;
    const named = path.join(root, `python-backend-${version}.zip`);
    await fs.link(asset, named);
    releases.push({ version, notes: `## ${version}\n\n- Change number ${index}.`, files: [named] });
  }
  return releases;
}

/** Checks twice with a new updater: the first check reads every page, the second revalidates them. */
async function checkTwice(feed: LocalFeed, home: string): Promise<CheckRun> {
  const updater = new BackendUpdater({ config: parseConfig({ home, feedUrl: feed.url }), logger: silentLogger });
  await updater.init();
  const first = await timedCheck(updater, feed);
  const repeat = await timedCheck(updater, feed);
  return {
    firstMs: first.ms,
    firstRequests: first.requests.length,
    repeatMs: repeat.ms,
    repeatRequests: repeat.requests.length,
    repeatConditional: repeat.requests.filter((request) => request.headers['if-none-match'] !== undefined).length,
  };
}

/**
 * Figure 6: a check against a feed of 300 releases on 3 pages, then the same
 * check again on the same updater, which sends If-None-Match and gets 304
 * Not Modified for every page.
 */
export async function benchCheck(context: BenchContext): Promise<ResultRow[]> {
  const root = path.join(context.workDir, 'check');
  await fs.mkdir(root, { recursive: true });
  const feed = await startLocalFeed({ releases: await createReleases(root), pageSize: PAGE_SIZE });
  const runs: CheckRun[] = [];
  try {
    for (let index = 0; index < context.runs; index += 1) runs.push(await checkTwice(feed, path.join(root, `home-${index}`)));
  } finally {
    await feed.close();
    await fs.rm(root, { recursive: true, force: true });
  }

  const last = runs.at(-1)!;
  context.log(`check: ${last.firstRequests} requests first, ${last.repeatRequests} repeated (${last.repeatConditional} with If-None-Match)`);
  return [
    infoRow('6 check', `first check, ${RELEASE_COUNT} releases on ${RELEASE_COUNT / PAGE_SIZE} pages, ms`, summarize(runs.map((run) => run.firstMs)), 1),
    infoRow('6 check', 'first check, requests', summarize(runs.map((run) => run.firstRequests)), 0),
    infoRow('6 check', 'repeated check (304 Not Modified), ms', summarize(runs.map((run) => run.repeatMs)), 1),
    infoRow('6 check', 'repeated check, requests with If-None-Match', summarize(runs.map((run) => run.repeatConditional)), 0),
  ];
}
