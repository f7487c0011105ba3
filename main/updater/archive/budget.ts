import { UpdateError } from '../errors';
import type { ExtractLimits } from './types';

/**
 * Counts entries and bytes of one extraction pass against the limits and throws
 * ARCHIVE_TOO_LARGE as soon as one is passed. The first pass feeds it declared
 * sizes, so an oversized archive is rejected before anything is written. The
 * second pass feeds it the bytes actually written, which a lying header cannot
 * understate.
 */
export class ExtractionBudget {
  entries = 0;
  bytes = 0;

  constructor(
    private readonly limits: ExtractLimits,
    private readonly archiveFile: string,
    private readonly archiveSize: number,
  ) {}

  /** Counts one entry. */
  addEntry(): void {
    this.entries += 1;
    if (this.entries <= this.limits.maxEntries) return;
    throw new UpdateError(
      'ARCHIVE_TOO_LARGE',
      `Archive ${this.archiveFile} has more than ${this.limits.maxEntries} entries (maxEntries). Check that it is the right file, or raise the limit if this release is genuine.`,
      { details: { file: this.archiveFile, limit: 'maxEntries', value: this.limits.maxEntries } },
    );
  }

  /** Counts `count` bytes of file content. */
  addBytes(count: number): void {
    this.bytes += count;
    if (this.bytes > this.limits.maxTotalBytes) {
      throw new UpdateError(
        'ARCHIVE_TOO_LARGE',
        `Archive ${this.archiveFile} expands to more than ${this.limits.maxTotalBytes} bytes (maxTotalBytes). Check that it is the right file, or raise the limit if this release is genuine.`,
        { details: { file: this.archiveFile, limit: 'maxTotalBytes', value: this.limits.maxTotalBytes } },
      );
    }

    // An empty archive file cannot produce content, so a zero size never divides here.
    const ratio = this.bytes / Math.max(this.archiveSize, 1);
    if (ratio > this.limits.maxCompressionRatio) {
      throw new UpdateError(
        'ARCHIVE_TOO_LARGE',
        `Archive ${this.archiveFile} (${this.archiveSize} bytes) expands to more than ${this.limits.maxCompressionRatio} times its size (maxCompressionRatio), as a zip bomb does. Do not install it, and report it to its publisher.`,
        { details: { file: this.archiveFile, limit: 'maxCompressionRatio', value: this.limits.maxCompressionRatio } },
      );
    }
  }
}
