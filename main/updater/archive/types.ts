/** Caps that stop an archive from filling the disk or expanding like a zip bomb. */
export interface ExtractLimits {
  /** Maximum bytes written to disk for the whole archive. */
  maxTotalBytes: number;
  /** Maximum number of entries (files, folders and links). */
  maxEntries: number;
  /** Maximum ratio of bytes written to the archive file's size. */
  maxCompressionRatio: number;
}

/** Limits used when the caller passes none: 2 GiB, 100 000 entries, ratio 100. */
export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = Object.freeze({
  maxTotalBytes: 2 * 1024 ** 3,
  maxEntries: 100_000,
  maxCompressionRatio: 100,
});

/** Kind of an archive entry that extraction supports. */
export type EntryKind = 'file' | 'directory' | 'symlink' | 'hardlink';

/** One entry as listed by the first pass over an archive, before anything is written. */
export interface ArchiveEntryInfo {
  /** Name exactly as stored in the archive. */
  name: string;
  kind: EntryKind;
  /** Uncompressed size that the archive declares. */
  size: number;
  /** Whether any executable bit is set in the stored Unix mode. */
  executable: boolean;
  /** Stored target of a symbolic link or hard link. */
  linkTarget?: string;
}
