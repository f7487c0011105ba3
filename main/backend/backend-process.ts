import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpdateError } from '../updater/errors';
import { LineSplitter, LineTail } from './output';
import { IS_WINDOWS, isProcessGroupAlive, killProcessTreeWindows, signalProcessGroup } from './process-tree';

/** Exit code and signal of a backend process. */
export interface BackendExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type OutputStream = 'stdout' | 'stderr';

export interface SpawnBackendOptions {
  command: string[];
  dir: string;
  env: NodeJS.ProcessEnv;
  version: string;
  onOutput: (stream: OutputStream, line: string, pid: number) => void;
}

// Lines of stderr kept for the message of a failed start.
const STDERR_TAIL_LINES = 20;
// Grace for a process that got SIGKILL; only a process stuck in the kernel needs longer.
const KILL_WAIT_MS = 2000;

/**
 * One spawned backend: the child process, its exit and the end of its stderr.
 * On POSIX the child leads its own process group, so signals reach the whole
 * tree. Its stdin stays an open pipe: when this process dies, the backend reads
 * end of file and exits on its own.
 */
export class BackendProcess {
  readonly pid: number;
  readonly version: string;
  readonly dir: string;
  readonly exited: Promise<BackendExit>;
  /** Set when stop() or a failed start ends this process, so its exit is not a crash. */
  expectedExit = false;
  /** Set once the process passed its health check. */
  wasHealthy = false;
  private exitInfo: BackendExit | null = null;
  private readonly outputClosed: Promise<void>;
  private readonly stderrTail = new LineTail(STDERR_TAIL_LINES);

  private constructor(
    private readonly child: ChildProcess,
    options: SpawnBackendOptions,
  ) {
    this.pid = child.pid ?? 0;
    this.version = options.version;
    this.dir = options.dir;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // Closing our end of stdin lets descendants that still hold the pipe see end of file.
        child.stdin?.destroy();
        resolve(this.exitInfo);
      });
    });
    // 'close' follows 'exit' once stdout and stderr are drained.
    this.outputClosed = new Promise((resolve) => child.once('close', () => resolve()));
    this.pipeOutput('stdout', options.onOutput);
    this.pipeOutput('stderr', options.onOutput);
    // Writes to a pipe whose reader exited raise EPIPE; the exit handler reports the real cause.
    child.stdin?.on('error', () => undefined);
  }

  /** Spawns the command and resolves once the process exists; spawn errors become BACKEND_START_FAILED. */
  static async spawn(options: SpawnBackendOptions): Promise<BackendProcess> {
    const [file, ...args] = options.command as [string, ...string[]];
    const child = spawn(file, args, {
      cwd: options.dir,
      env: options.env,
      // detached gives the backend its own process group on POSIX. On Windows it
      // would open a console window instead, so the tree is ended with taskkill.
      detached: !IS_WINDOWS,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (error) {
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
      throw spawnFailure(options, error as NodeJS.ErrnoException);
    }
    // Later errors (a failed kill, for example) are covered by the exit and stop paths.
    child.on('error', () => undefined);
    return new BackendProcess(child, options);
  }

  /** Exit code and signal, or null while the process runs. */
  get exit(): BackendExit | null {
    return this.exitInfo;
  }

  /** Returns the last lines the process wrote to stderr. */
  lastStderrLines(): string[] {
    return this.stderrTail.toArray();
  }

  /**
   * Waits until the output pipes are drained, at most `timeoutMs`: a descendant
   * that inherited them can keep them open after the process exited.
   */
  async waitForOutput(timeoutMs: number): Promise<void> {
    const controller = new AbortController();
    const timer = sleep(timeoutMs, undefined, { signal: controller.signal }).catch(() => undefined);
    await Promise.race([this.outputClosed, timer]);
    controller.abort();
  }

  /** Resolves true once the process has exited, or false after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    if (this.exitInfo !== null) return true;
    const controller = new AbortController();
    const timer = sleep(timeoutMs, false, { signal: controller.signal }).catch(() => false);
    const exited = this.exited.then(() => true);
    const result = await Promise.race([exited, timer]);
    controller.abort();
    return result;
  }

  /**
   * Ends the process tree: SIGTERM to the group, SIGKILL after `graceMs`, then
   * SIGKILL to members that outlive the leader. Resolves once the leader exited.
   */
  async terminate(graceMs: number): Promise<void> {
    if (IS_WINDOWS) {
      await this.terminateWindows(graceMs);
      return;
    }
    const deadline = Date.now() + graceMs;
    if (this.exitInfo === null) {
      signalProcessGroup(this.pid, 'SIGTERM');
      if (!(await this.waitForExit(graceMs))) {
        signalProcessGroup(this.pid, 'SIGKILL');
        if (!(await this.waitForExit(KILL_WAIT_MS))) throw this.stopFailure(graceMs);
      }
    }
    await this.endGroupMembers(deadline);
  }

  /** Kills whatever is left of the group right away, for a leader that already exited. */
  killLeftovers(): void {
    if (!IS_WINDOWS && isProcessGroupAlive(this.pid)) signalProcessGroup(this.pid, 'SIGKILL');
  }

  /** Describes the exit for messages: `code 3` or `signal SIGKILL`. */
  describeExit(): string {
    const exit = this.exitInfo;
    if (exit === null) return 'still running';
    return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
  }

  private async endGroupMembers(deadline: number): Promise<void> {
    // Members got SIGTERM with the leader, so they get until the stop deadline to finish.
    while (isProcessGroupAlive(this.pid) && Date.now() < deadline) await sleep(50);
    this.killLeftovers();
  }

  private async terminateWindows(graceMs: number): Promise<void> {
    // NOTE: untested on Windows. Windows has no SIGTERM for console processes, so the
    // tree is force-killed right after stdin is closed, without a grace period.
    this.child.stdin?.end();
    await killProcessTreeWindows(this.pid);
    if (!(await this.waitForExit(graceMs))) throw this.stopFailure(graceMs);
  }

  private stopFailure(graceMs: number): UpdateError {
    return new UpdateError(
      'BACKEND_STOP_FAILED',
      `Backend ${this.version} (pid ${this.pid}) did not exit within ${graceMs} ms even after SIGKILL. Check the process with the system's task manager.`,
      { details: { pid: this.pid, version: this.version } },
    );
  }

  private pipeOutput(stream: OutputStream, onOutput: SpawnBackendOptions['onOutput']): void {
    const source = this.child[stream];
    if (!source) return;
    const splitter = new LineSplitter((line) => {
      if (stream === 'stderr') this.stderrTail.add(line);
      onOutput(stream, line, this.pid);
    });
    source.on('data', (chunk: Buffer) => splitter.push(chunk));
    source.on('end', () => splitter.end());
    source.on('error', () => undefined);
  }
}

function spawnFailure(options: SpawnBackendOptions, error: NodeJS.ErrnoException): UpdateError {
  const command = options.command.join(' ');
  const hint =
    error.code === 'ENOENT'
      ? `"${options.command[0]}" was not found on PATH; install it or set the backend command to its full path.`
      : 'Check that the command exists and is executable.';
  return new UpdateError('BACKEND_START_FAILED', `Could not start backend ${options.version} with "${command}" in ${options.dir}: ${error.message}. ${hint}`, {
    cause: error,
    details: { command, dir: options.dir, version: options.version, errno: error.code ?? null },
  });
}
