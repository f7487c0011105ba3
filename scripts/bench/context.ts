import type { ChildRunner } from './processes';

/** Settings shared by every figure of one bench run. */
export interface BenchContext {
  /** Temp folder of this run; removed at the end. */
  workDir: string;
  /** Measured runs per figure (at least 5). */
  runs: number;
  quick: boolean;
  /** Size of the large download asset in bytes. */
  downloadBytes: number;
  /** Runs measured tasks in separate Node processes. */
  children: ChildRunner;
  /** Prints a progress line to stderr, so that stdout keeps only the table. */
  log(message: string): void;
}

export const MIB = 1024 * 1024;
