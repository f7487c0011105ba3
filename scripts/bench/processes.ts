import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Outcome of a command run by `runTimed`. */
export interface TimedRun {
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` through `/bin/sh -c` and measures its wall time, process
 * start included. Throws when it exits with a status other than 0.
 */
export function runTimed(command: string, options: { cwd?: string } = {}): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn('/bin/sh', ['-c', command], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const ms = performance.now() - startedAt;
      const run = { ms, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
      if (code === 0) resolve(run);
      else reject(new Error(`command failed with ${signal ?? `status ${code}`}: ${command}\n${run.stderr.trim()}`));
    });
  });
}

/** Absolute path of the child entry point that runs one measured task. */
const CHILD_SOURCE = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Child processes of one bench run: the bundled child script and where CPU profiles go. */
export interface ChildRunner {
  /** Runs one task and returns the JSON it prints last. */
  run<T>(task: string, input: unknown): Promise<T>;
  /**
   * Starts a task that runs until `stop()` closes its standard input.
   * `ready` resolves once the task writes its first line to standard error.
   */
  start<T>(task: string, input: unknown): { ready: Promise<void>; result: Promise<T>; stop(): void };
}

/**
 * Bundles `child.ts` with esbuild into `folder`, as the app's build bundles
 * the main process. The child then runs on plain Node without tsx, so its
 * memory and start-up belong to the updater code alone. With `profileDir`,
 * each child writes a V8 CPU profile there.
 */
export async function createChildRunner(folder: string, profileDir: string | null): Promise<ChildRunner> {
  const outfile = path.join(folder, 'bench-child.mjs');
  await build({
    entryPoints: [CHILD_SOURCE],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    // Bundled CommonJS packages call require(), which an ES module lacks unless it is defined.
    banner: { js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);" },
  });
  const nodeArgs = profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  return {
    run: <T>(task: string, input: unknown) => runNode<T>(nodeArgs, outfile, task, input, false).result,
    start: <T>(task: string, input: unknown) => runNode<T>(nodeArgs, outfile, task, input, true),
  };
}

/**
 * Runs one task of the bundled child in a new Node process. Each measurement
 * gets its own process, so its peak memory belongs to that task alone. With
 * `keepInputOpen`, standard input stays open until `stop()`; a long task
 * watches it to know when to finish.
 */
function runNode<T>(nodeArgs: string[], script: string, task: string, input: unknown, keepInputOpen: boolean): { ready: Promise<void>; result: Promise<T>; stop(): void } {
  const child = spawn(process.execPath, [...nodeArgs, script, task, JSON.stringify(input)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.once('data', () => resolve());
    child.once('close', () => reject(new Error(`bench task ${task} exited before it was ready`)));
  });
  // A task that never signals readiness must not leave an unhandled rejection.
  ready.catch(() => undefined);
  const result = new Promise<T>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const output = Buffer.concat(stdout).toString('utf8').trim();
      const lastLine = output.slice(output.lastIndexOf('\n') + 1);
      if (code !== 0) {
        reject(new Error(`bench task ${task} failed with status ${code}: ${Buffer.concat(stderr).toString('utf8').trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(lastLine) as T);
      } catch {
        reject(new Error(`bench task ${task} printed no JSON result: ${output.slice(-500)}`));
      }
    });
  });
  if (!keepInputOpen) child.stdin.end();
  return { ready, result, stop: () => child.stdin.end() };
}
