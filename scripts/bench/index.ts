/**
 * `npm run bench`: measures the updater's download, extraction, swap,
 * progress and check paths against standard tools on this machine, prints a
 * Markdown table and optionally records it in BENCHMARKS.md.
 */
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BenchContext } from './context';
import { benchDownload } from './download';
import { machineFacts, renderMachine } from './machine';
import { parseBenchOptions, USAGE, type BenchOptions, type FigureName } from './options';
import { createChildRunner, runTimed } from './processes';
import { renderTable, type ResultRow } from './report';
import { recordRun } from './record';

type Figure = (context: BenchContext) => Promise<ResultRow[]>;

/** Programs the figures run, with the figures that need them. */
const REQUIRED_TOOLS: Record<string, FigureName[]> = {
  curl: ['download'],
  openssl: ['download'],
  sha256sum: ['download'],
  tee: ['download'],
  unzip: ['extract'],
  tar: ['extract'],
  gzip: ['extract'],
  cp: ['extract'],
  python3: ['swap'],
};

/** Returns the programs that the selected figures need but PATH lacks. */
async function missingTools(figures: FigureName[]): Promise<string[]> {
  const needed = Object.entries(REQUIRED_TOOLS)
    .filter(([, users]) => users.some((figure) => figures.includes(figure)))
    .map(([tool]) => tool);
  const missing: string[] = [];
  for (const tool of needed) {
    try {
      await runTimed(`command -v ${tool}`);
    } catch {
      missing.push(tool);
    }
  }
  return missing;
}

const FIGURE_RUNNERS: Record<FigureName, () => Promise<Figure>> = {
  download: async () => benchDownload,
  extract: async () => (await import('./extract')).benchExtract,
  swap: async () => (await import('./swap')).benchSwap,
  progress: async () => (await import('./progress')).benchProgress,
  check: async () => (await import('./check')).benchCheck,
};

async function runFigures(options: BenchOptions, context: BenchContext): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const name of options.figures) {
    const startedAt = performance.now();
    context.log(`${name}: start`);
    const figure = await FIGURE_RUNNERS[name]();
    rows.push(...(await figure(context)));
    context.log(`${name}: done in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  }
  return rows;
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(argv);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const missing = await missingTools(options.figures);
  if (missing.length > 0) {
    process.stderr.write(`bench: missing programs: ${missing.join(', ')}. Install them, or leave out their figures with --only.\n`);
    return 1;
  }

  const facts = machineFacts();
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bu-bench-'));
  // Ctrl-C skips the finally block below, so the temp folder is removed here too.
  const onInterrupt = (): void => {
    rmSync(workDir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const startedAt = performance.now();
  const children = await createChildRunner(workDir, options.profileDir === null ? null : path.resolve(options.profileDir));
  const context: BenchContext = {
    workDir,
    children,
    runs: options.runs,
    quick: options.quick,
    downloadBytes: options.downloadBytes,
    log: (message) => process.stderr.write(`[bench ${((performance.now() - startedAt) / 1000).toFixed(1)} s] ${message}\n`),
  };
  try {
    const rows = await runFigures(options, context);
    const seconds = (performance.now() - startedAt) / 1000;
    const table = renderTable(rows);
    process.stdout.write(`\n${renderMachine(facts)}\n- Command: npm run bench -- ${argv.join(' ')}\n- Bench time: ${seconds.toFixed(0)} s\n\n${table}\n`);
    if (options.write !== null) {
      await recordRun(path.resolve(options.write), { facts, argv, seconds, table });
      context.log(`results added to ${options.write}`);
    }
    // A missed goal is a result to read, not a failure of the bench.
    return 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    await fs.rm(workDir, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
