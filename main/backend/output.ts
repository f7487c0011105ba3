import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../logger';

/** Default maximum length of one output line, in characters; longer lines are cut. */
export const MAX_LINE_LENGTH = 4096;

/**
 * Splits a byte stream into UTF-8 lines. Memory stays bounded: a line longer
 * than `maxLineLength` is emitted cut, with a marker, and the rest of it up
 * to the next newline is dropped.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private discarding = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineLength = MAX_LINE_LENGTH,
  ) {}

  /** Adds a chunk and emits every line that it completes. */
  push(chunk: Buffer): void {
    this.consume(this.decoder.write(chunk));
  }

  /** Emits the last line when the stream ended without a newline. */
  end(): void {
    this.consume(this.decoder.end());
    if (this.pending !== '' && !this.discarding) this.emit(this.pending);
    this.pending = '';
    this.discarding = false;
  }

  private consume(text: string): void {
    let rest = text;
    for (let newline = rest.indexOf('\n'); newline !== -1; newline = rest.indexOf('\n')) {
      const piece = rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      if (!this.discarding) this.emit(this.pending + piece);
      this.pending = '';
      this.discarding = false;
    }
    if (this.discarding) return;
    this.pending += rest;
    if (this.pending.length > this.maxLineLength) {
      this.onLine(`${this.pending.slice(0, this.maxLineLength)} [line cut at ${this.maxLineLength} characters]`);
      this.pending = '';
      this.discarding = true;
    }
  }

  private emit(line: string): void {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.length > this.maxLineLength) {
      this.onLine(`${text.slice(0, this.maxLineLength)} [line cut at ${this.maxLineLength} characters]`);
    } else {
      this.onLine(text);
    }
  }
}

/** The last `capacity` lines of a stream, for error messages. */
export class LineTail {
  private readonly lines: string[] = [];

  constructor(private readonly capacity: number) {}

  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.shift();
  }

  toArray(): string[] {
    return [...this.lines];
  }
}

/**
 * Rate limit for logging a child's output: at most `maxLines` per window of
 * `windowMs`. Lines over the limit are counted, and the count is reported
 * once the next window opens.
 */
export class OutputThrottle {
  private windowStart = 0;
  private linesInWindow = 0;
  private dropped = 0;

  constructor(
    private readonly maxLines: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Returns whether the line may be logged, and how many lines were dropped
   * before it (0 when none were).
   */
  take(): { allowed: boolean; droppedBefore: number } {
    const now = this.now();
    let droppedBefore = 0;
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.linesInWindow = 0;
      droppedBefore = this.dropped;
      this.dropped = 0;
    }
    if (this.linesInWindow >= this.maxLines) {
      this.dropped += 1;
      return { allowed: false, droppedBefore };
    }
    this.linesInWindow += 1;
    return { allowed: true, droppedBefore };
  }
}

// At most this many output lines per 10 s reach the log. The rest are counted.
const OUTPUT_LOG_LINES = 200;
const OUTPUT_LOG_WINDOW_MS = 10_000;

/** Returns a function that logs a child's output lines at info level, rate-limited by an OutputThrottle. */
export function createOutputLogger(logger: Logger, prefix: string): (stream: string, line: string) => void {
  const throttle = new OutputThrottle(OUTPUT_LOG_LINES, OUTPUT_LOG_WINDOW_MS);
  return (stream, line) => {
    const { allowed, droppedBefore } = throttle.take();
    if (droppedBefore > 0) {
      logger.warn(`${prefix}: ${droppedBefore} output lines not logged (over ${OUTPUT_LOG_LINES} per ${OUTPUT_LOG_WINDOW_MS} ms)`);
    }
    if (allowed) logger.info(`${prefix} ${stream}: ${line}`);
  };
}
