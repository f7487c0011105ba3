/**
 * Entry point of a bench child process: runs one task given on the command
 * line (`child.ts TASK JSON`) and prints its result as one JSON line.
 */
import { downloadFile } from '../../main/updater/download';
import { extractArchive, type ExtractFormat } from '../../main/updater/archive';
import { silentLogger } from '../../main/logger';
import { watchSwap } from './health-poll';

/** Input of the `download` task. */
export interface DownloadTaskInput {
  url: string;
  destination: string;
  expectedSize: number;
  sha256: string;
  /** Whether a progress listener is attached. */
  progress: boolean;
}

/** Input of the `extract` task. */
export interface ExtractTaskInput {
  file: string;
  format: ExtractFormat;
  destination: string;
}

/** Input of the `watch-swap` task, which polls until its standard input closes. */
export interface WatchSwapInput {
  port: number;
  intervalMs: number;
}

/** Result of a task: its own duration and the memory of this process. */
export interface TaskResult {
  /** Milliseconds of the measured call, process start and module loading excluded. */
  ms: number;
  /** Peak resident set size of the whole process (getrusage), in bytes. */
  maxRssBytes: number;
  /** Resident set size just before the measured call, in bytes. */
  rssBeforeBytes: number;
  /** Progress callbacks received (download only). */
  progressEvents?: number;
  /** Size of the downloaded file or of the extracted content, in bytes. */
  bytes: number;
}

/**
 * Times `run` and reads the peak memory of this process afterwards. No
 * sampler runs during the call: reading the RSS every few milliseconds cost
 * several percent of a download's main thread.
 */
async function measure(run: () => Promise<Omit<TaskResult, 'ms' | 'maxRssBytes' | 'rssBeforeBytes'>>): Promise<TaskResult> {
  const rssBeforeBytes = process.memoryUsage.rss();
  const startedAt = performance.now();
  const result = await run();
  const ms = performance.now() - startedAt;
  // maxRSS is in kibibytes.
  return { ...result, ms, rssBeforeBytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

async function runDownload(input: DownloadTaskInput): Promise<TaskResult> {
  let progressEvents = 0;
  return measure(async () => {
    const result = await downloadFile({
      url: input.url,
      destination: input.destination,
      expectedSize: input.expectedSize,
      expectedSha256: input.sha256,
      resume: false,
      logger: silentLogger,
      onProgress: input.progress ? () => (progressEvents += 1) : undefined,
    });
    return { bytes: result.size, progressEvents };
  });
}

async function runExtract(input: ExtractTaskInput): Promise<TaskResult> {
  return measure(async () => {
    const result = await extractArchive({ file: input.file, format: input.format, destination: input.destination, logger: silentLogger });
    return { bytes: result.bytes };
  });
}

async function runWatchSwap(input: WatchSwapInput): Promise<unknown> {
  let stopped = false;
  process.stdin.on('end', () => {
    stopped = true;
  });
  process.stdin.resume();
  // The parent waits for this line before it starts the install.
  process.stderr.write('watching\n');
  return watchSwap(input.port, input.intervalMs, () => stopped);
}

const [task, rawInput] = process.argv.slice(2);
const input: unknown = JSON.parse(rawInput ?? 'null');
let result: unknown;
if (task === 'download') result = await runDownload(input as DownloadTaskInput);
else if (task === 'extract') result = await runExtract(input as ExtractTaskInput);
else if (task === 'watch-swap') result = await runWatchSwap(input as WatchSwapInput);
else throw new Error(`unknown bench task "${task}"; use download, extract or watch-swap`);
process.stdout.write(`${JSON.stringify(result)}\n`);
