import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExtractTaskInput, TaskResult } from './child';
import { MIB, type BenchContext } from './context';
import { packTree, REALISTIC_TREE, writeBackendTree, writeRandomFile } from './data';
import { runTimed } from './processes';
import { boundRow, infoRow, type ResultRow } from './report';
import { pairedRatios, summarize } from './stats';

/** Archives of one backend folder. */
interface Archives {
  zip: string;
  tarGz: string;
  /** Bytes of file content in the folder. */
  bytes: number;
}

interface FormatRun {
  ours: TaskResult;
  reference: number;
}

/**
 * Builds the realistic backend archives and a larger variant with two more
 * binaries, which shows whether extraction memory grows with archive size.
 */
async function buildArchives(context: BenchContext): Promise<{ realistic: Archives; large: Archives }> {
  const tree = path.join(context.workDir, 'tree');
  const { files, bytes } = await writeBackendTree(tree, REALISTIC_TREE, '3.0.0');
  context.log(`extract: packing ${files} files, ${(bytes / MIB).toFixed(0)} MiB, as zip and tar.gz`);
  const realistic = { zip: path.join(context.workDir, 'backend.zip'), tarGz: path.join(context.workDir, 'backend.tar.gz'), bytes };
  await packTree(tree, realistic.zip, realistic.tarGz);

  const extraMib = context.quick ? 64 : 256;
  const largeTree = path.join(context.workDir, 'tree-large');
  await runTimed(`cp -al '${tree}' '${largeTree}'`);
  for (const index of [0, 1]) await writeRandomFile(path.join(largeTree, 'bin', `extra_${index}.so`), extraMib * MIB, `extra-${index}`);
  context.log(`extract: packing the large variant (+${2 * extraMib} MiB)`);
  const large = { zip: path.join(context.workDir, 'large.zip'), tarGz: path.join(context.workDir, 'large.tar.gz'), bytes: bytes + 2 * extraMib * MIB };
  // Level 1 keeps packing fast, and the random binaries do not compress at any level.
  await packTree(largeTree, large.zip, large.tarGz, 1);
  await fs.rm(largeTree, { recursive: true, force: true });
  return { realistic, large };
}

async function runOurs(context: BenchContext, file: string, format: ExtractTaskInput['format'], destination: string): Promise<TaskResult> {
  const result = await context.children.run<TaskResult>('extract', { file, format, destination } satisfies ExtractTaskInput);
  await fs.rm(destination, { recursive: true, force: true });
  return result;
}

async function runReference(command: string, destination: string): Promise<number> {
  await fs.mkdir(destination, { recursive: true });
  const { ms } = await runTimed(command);
  await fs.rm(destination, { recursive: true, force: true });
  return ms;
}

/** Runs ours and then the reference tool, for zip and then for tar.gz. */
async function runOnce(context: BenchContext, archives: Archives): Promise<{ zip: FormatRun; tar: FormatRun }> {
  const out = path.join(context.workDir, 'out');
  const zipOurs = await runOurs(context, archives.zip, 'zip', out);
  const zipReference = await runReference(`unzip -q '${archives.zip}' -d '${out}'`, out);
  const tarOurs = await runOurs(context, archives.tarGz, 'tar.gz', out);
  const tarReference = await runReference(`tar xzf '${archives.tarGz}' -C '${out}'`, out);
  return { zip: { ours: zipOurs, reference: zipReference }, tar: { ours: tarOurs, reference: tarReference } };
}

/**
 * Figure 3 and the extraction part of figure 2: the updater's safe extractor
 * against `unzip -q` and `tar xzf` on a realistic backend archive, and its
 * peak memory on that archive and on a larger one.
 */
export async function benchExtract(context: BenchContext): Promise<ResultRow[]> {
  const { realistic, large } = await buildArchives(context);
  const runs: { zip: FormatRun; tar: FormatRun }[] = [];
  const largeRuns: { zip: TaskResult; tar: TaskResult }[] = [];
  for (let index = 0; index < context.runs; index += 1) {
    const run = await runOnce(context, realistic);
    runs.push(run);
    const out = path.join(context.workDir, 'out');
    largeRuns.push({ zip: await runOurs(context, large.zip, 'zip', out), tar: await runOurs(context, large.tarGz, 'tar.gz', out) });
    context.log(
      `extract run ${index + 1}/${context.runs}: zip ours ${run.zip.ours.ms.toFixed(0)} ms vs unzip ${run.zip.reference.toFixed(0)} ms, ` +
        `tar.gz ours ${run.tar.ours.ms.toFixed(0)} ms vs tar ${run.tar.reference.toFixed(0)} ms`,
    );
  }
  return extractRows(realistic, large, runs, largeRuns);
}

function extractRows(realistic: Archives, large: Archives, runs: { zip: FormatRun; tar: FormatRun }[], largeRuns: { zip: TaskResult; tar: TaskResult }[]): ResultRow[] {
  const size = `${(realistic.bytes / MIB).toFixed(0)} MiB`;
  const largeSize = `${(large.bytes / MIB).toFixed(0)} MiB`;
  const rows: ResultRow[] = [];
  for (const format of ['zip', 'tar'] as const) {
    const label = format === 'zip' ? 'zip' : 'tar.gz';
    const tool = format === 'zip' ? 'unzip -q' : 'tar xzf';
    const ours = runs.map((run) => run[format].ours.ms);
    const reference = runs.map((run) => run[format].reference);
    const peak = runs.map((run) => run[format].ours.maxRssBytes / MIB);
    const largePeak = largeRuns.map((run) => run[format].maxRssBytes / MIB);
    rows.push(
      infoRow('3 extract', `ours, ${label} of ${size}, ms`, summarize(ours), 0),
      infoRow('3 extract', `${tool}, ms`, summarize(reference), 0),
      boundRow('3 extract', `ratio ours / ${tool}`, pairedRatios(ours, reference), 1.5),
      boundRow('2 memory', `extract peak RSS, ${label} of ${size}, MiB`, summarize(peak), 200, 0),
      boundRow('2 memory', `extract peak RSS, ${label} of ${largeSize}, MiB`, summarize(largePeak), 200, 0),
      // Growth, not the absolute difference: a larger archive that peaks lower (garbage collection timing) is flat too.
      boundRow('2 memory', `extract peak RSS growth ${size} to ${largeSize}, ${label}, MiB`, summarize(peak.map((value, index) => largePeak[index]! - value)), 10, 1),
    );
  }
  return rows;
}
