import fs from 'node:fs/promises';
import path from 'node:path';
import type { DownloadTaskInput, TaskResult } from './child';
import { MIB, type BenchContext } from './context';
import { writeRandomFile } from './data';
import { runTimed } from './processes';
import { boundRow, infoRow, type ResultRow } from './report';
import { startStaticServer, type StaticServer } from './server';
import { mibPerSecond, pairedRatios, summarize } from './stats';

/** Size of the small download of the memory figure. */
const SMALL_DOWNLOAD_BYTES = 100 * MIB;

interface Asset {
  name: string;
  size: number;
  sha256: string;
}

/** Results of one run. The reference times are in milliseconds. */
interface DownloadRun {
  ours: TaskResult;
  openssl: number;
  sha256sum: number;
  /** The small download with and without a progress listener, run back to back. */
  smallWithEvents: TaskResult;
  smallWithoutEvents: TaskResult;
}

function downloadInput(server: StaticServer, asset: Asset, destination: string, progress: boolean): DownloadTaskInput {
  return { url: server.urlOf(asset.name), destination, expectedSize: asset.size, sha256: asset.sha256, progress };
}

/** Runs the shell pipeline and checks that it printed the expected digest. */
async function runReference(command: string, asset: Asset, output: string): Promise<number> {
  const run = await runTimed(command);
  await fs.rm(output, { force: true });
  if (!run.stdout.includes(asset.sha256)) throw new Error(`reference pipeline printed a wrong digest: ${run.stdout.trim()}`);
  return run.ms;
}

async function runOurs(context: BenchContext, server: StaticServer, asset: Asset, output: string, progress: boolean): Promise<TaskResult> {
  const result = await context.children.run<TaskResult>('download', downloadInput(server, asset, output, progress));
  await fs.rm(output, { force: true });
  return result;
}

/** Runs `first` and `second` back to back, in the other order on odd runs, and returns their results as [first, second]. */
async function pair<A, B>(index: number, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
  if (index % 2 === 0) {
    const a = await first();
    return [a, await second()];
  }
  const b = await second();
  return [await first(), b];
}

/**
 * Runs ours next to the openssl pipeline, then the sha256sum pipeline, then
 * the small download with and without a progress listener. Each pair swaps
 * its order on odd runs, so that neither member always goes first.
 */
async function runOnce(context: BenchContext, server: StaticServer, assets: { large: Asset; small: Asset }, outDir: string, index: number): Promise<DownloadRun> {
  const output = path.join(outDir, 'download.bin');
  const url = server.urlOf(assets.large.name);
  const [ours, openssl] = await pair(
    index,
    () => runOurs(context, server, assets.large, output, true),
    () => runReference(`curl -s '${url}' | tee '${output}' | openssl dgst -sha256`, assets.large, output),
  );
  const sha256sum = await runReference(`curl -s '${url}' | tee '${output}' | sha256sum`, assets.large, output);
  const [smallWithEvents, smallWithoutEvents] = await pair(
    index,
    () => runOurs(context, server, assets.small, output, true),
    () => runOurs(context, server, assets.small, output, false),
  );
  return { ours, openssl, sha256sum, smallWithEvents, smallWithoutEvents };
}

async function createAsset(folder: string, size: number): Promise<Asset> {
  const name = `asset-${size}.bin`;
  const sha256 = await writeRandomFile(path.join(folder, name), size, `asset-${size}`);
  return { name, size, sha256 };
}

/**
 * Figures 1, 2 (download memory) and 5 (cost of progress events): the
 * updater's download path against `curl | tee | openssl dgst` and
 * `curl | tee | sha256sum`, pair by pair.
 */
export async function benchDownload(context: BenchContext): Promise<ResultRow[]> {
  const serveDir = path.join(context.workDir, 'serve');
  const outDir = path.join(context.workDir, 'download');
  await fs.mkdir(serveDir, { recursive: true });
  await fs.mkdir(outDir, { recursive: true });
  context.log(`download: writing ${context.downloadBytes / MIB} MiB and ${SMALL_DOWNLOAD_BYTES / MIB} MiB assets`);
  const asset = await createAsset(serveDir, context.downloadBytes);
  const small = await createAsset(serveDir, SMALL_DOWNLOAD_BYTES);
  const server = await startStaticServer(serveDir);

  try {
    const runs: DownloadRun[] = [];
    for (let index = 0; index < context.runs; index += 1) {
      const run = await runOnce(context, server, { large: asset, small }, outDir, index);
      runs.push(run);
      context.log(
        `download run ${index + 1}/${context.runs}: ours ${run.ours.ms.toFixed(0)} ms, openssl ${run.openssl.toFixed(0)} ms, sha256sum ${run.sha256sum.toFixed(0)} ms, ` +
          `small with events ${run.smallWithEvents.ms.toFixed(0)} ms, without ${run.smallWithoutEvents.ms.toFixed(0)} ms`,
      );
    }
    return downloadRows(asset, runs);
  } finally {
    await server.close();
    await fs.rm(path.join(serveDir, asset.name), { force: true });
    await fs.rm(path.join(serveDir, small.name), { force: true });
  }
}

function downloadRows(asset: Asset, runs: DownloadRun[]): ResultRow[] {
  const size = `${asset.size / MIB} MiB`;
  const smallSize = `${SMALL_DOWNLOAD_BYTES / MIB} MiB`;
  const ours = runs.map((run) => run.ours.ms);
  const openssl = runs.map((run) => run.openssl);
  const sha256sum = runs.map((run) => run.sha256sum);
  const rate = (values: number[]): ReturnType<typeof summarize> => summarize(values.map((ms) => mibPerSecond(asset.size, ms)));
  const peakLarge = summarize(runs.map((run) => run.ours.maxRssBytes / MIB));
  const peakSmall = summarize(runs.map((run) => run.smallWithEvents.maxRssBytes / MIB));
  // Growth, not the absolute difference: a larger download that peaks lower (garbage collection timing) is flat too.
  const peakGrowth = summarize(runs.map((run) => (run.ours.maxRssBytes - run.smallWithEvents.maxRssBytes) / MIB));
  // The first and the last callback are sent whatever the interval, so a short download counts a little more than 10 per second.
  const eventsPerSecond = summarize(runs.map((run) => (run.ours.progressEvents ?? 0) / (run.ours.ms / 1000)));
  const withEvents = runs.map((run) => run.smallWithEvents.ms);
  const withoutEvents = runs.map((run) => run.smallWithoutEvents.ms);
  return [
    infoRow('1 download', `ours, ${size}, ms`, summarize(ours), 0),
    infoRow('1 download', 'ours, MiB/s', rate(ours), 0),
    infoRow('1 download', 'curl | tee | openssl dgst, MiB/s', rate(openssl), 0),
    infoRow('1 download', 'curl | tee | sha256sum, MiB/s', rate(sha256sum), 0),
    boundRow('1 download', 'ratio ours / openssl pipeline', pairedRatios(ours, openssl), 1.1),
    infoRow('1 download', 'ratio ours / sha256sum pipeline (run after the pair)', pairedRatios(ours, sha256sum)),
    boundRow('2 memory', `download peak RSS at ${smallSize}, MiB`, peakSmall, 130, 0),
    boundRow('2 memory', `download peak RSS at ${size}, MiB`, peakLarge, 130, 0),
    boundRow('2 memory', `download peak RSS growth ${smallSize} to ${size}, MiB`, peakGrowth, 10, 1),
    infoRow('2 memory', 'download RSS before the call, MiB', summarize(runs.map((run) => run.ours.rssBeforeBytes / MIB)), 0),
    infoRow('5 progress', 'downloadFile progress callbacks per second (100 ms interval)', eventsPerSecond, 1),
    infoRow('5 progress', `ratio with / without a progress listener, ${smallSize}`, pairedRatios(withEvents, withoutEvents)),
  ];
}
