import type { ExtractionBudget } from './budget';
import type { ExtractionPlan, PlannedEntry } from './plan';
import type { ArchiveEntryInfo } from './types';

/** Reader of one archive file in two passes, which lists every entry and then writes the planned ones. */
export interface ArchiveReader {
  /** Lists every entry in archive order, calling `visit` on each as soon as it is read. */
  list(visit: (info: ArchiveEntryInfo) => void, signal?: AbortSignal): Promise<ArchiveEntryInfo[]>;
  /** Writes the plan's files and hard link copies, and returns the symbolic links left to create. */
  extract(plan: ExtractionPlan, budget: ExtractionBudget, signal?: AbortSignal): Promise<PlannedEntry[]>;
  /** Releases the open file, if any. */
  close(): void;
}

/** Largest symbolic link target read from an archive, in bytes (PATH_MAX on Linux). */
export const MAX_LINK_TARGET_BYTES = 4096;
