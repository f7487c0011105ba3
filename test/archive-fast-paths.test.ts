import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import yazl from 'yazl';
import { DEFAULT_EXTRACT_LIMITS, extractArchive, type ExtractFormat } from '../main/updater/archive';
import { ExtractionBudget } from '../main/updater/archive/budget';
import type { PlannedEntry } from '../main/updater/archive/plan';
import { FileWriteQueue } from '../main/updater/archive/write-queue';
import { BlockFileReader } from '../main/updater/archive/zip-source';
import { CancelledError, UpdateError } from '../main/updater/errors';
import { file, makeTarGz, makeZip, type ArchiveEntry } from './helpers/archives';

const MIB = 1024 * 1024;
let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'archive-fast-test-'));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** Small text files in nested folders plus one large random file, as a backend folder has. */
function manyFiles(): { entries: ArchiveEntry[]; contents: Map<string, Buffer> } {
  const contents = new Map<string, Buffer>();
  for (let index = 0; index < 60; index += 1) contents.set(`app/lib/pkg_${index % 4}/mod_${index}.py`, Buffer.from(`# module ${index}\n`.repeat(index * 40 + 1)));
  contents.set('app/bin/engine.so', randomBytes(3 * MIB));
  const entries = [...contents].map(([name, content]) => file(name, content, name.endsWith('.so') ? 0o755 : 0o644));
  return { entries, contents };
}

describe('extractArchive many files', () => {
  it.each<ExtractFormat>(['zip', 'tar.gz'])('writes every file of %s', async (format) => {
    const { entries, contents } = manyFiles();
    const archive = path.join(tmp, `many.${format}`);
    if (format === 'zip') await makeZip(archive, entries);
    else await makeTarGz(archive, entries);
    const destination = path.join(tmp, 'out');

    const result = await extractArchive({ file: archive, format, destination });

    expect(result.files).toBe(contents.size);
    expect(result.strippedTopFolder).toBe('app');
    for (const [name, content] of contents) {
      const written = path.join(destination, name.slice('app/'.length));
      expect(sha256(await readFile(written))).toBe(sha256(content));
      expect((await stat(written)).mode & 0o777).toBe(name.endsWith('.so') ? 0o755 : 0o644);
    }
  });
});

describe('extractArchive zip sizes', () => {
  it('extracts stored entries', async () => {
    const archive = path.join(tmp, 'stored.zip');
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('print("stored")\n'), 'main.py', { compress: false, mode: 0o100644 });
    zip.addBuffer(randomBytes(2 * MIB), 'big.bin', { compress: false, mode: 0o100644 });
    zip.end();
    await pipeline(zip.outputStream, createWriteStream(archive));
    const destination = path.join(tmp, 'out');

    await extractArchive({ file: archive, format: 'zip', destination });

    expect(await readFile(path.join(destination, 'main.py'), 'utf8')).toBe('print("stored")\n');
    expect((await stat(path.join(destination, 'big.bin'))).size).toBe(2 * MIB);
  });

  it('rejects small entry shorter than declared', async () => {
    const archive = await makeZip(path.join(tmp, 'short.zip'), [{ type: 'file', name: 'main.py', content: Buffer.alloc(100, 1), declaredSize: 200 }]);
    const destination = path.join(tmp, 'out');

    const error = await rejectionOf(extractArchive({ file: archive, format: 'zip', destination }));

    expect(error).toBeInstanceOf(UpdateError);
    expect((error as UpdateError).code).toBe('ARCHIVE_INVALID');
    expect((error as UpdateError).message).toContain('declares 200');
    expect(existsSync(destination)).toBe(false);
  });

  it('rejects streamed entry larger than declared', async () => {
    const content = randomBytes(2 * MIB);
    const archive = await makeZip(path.join(tmp, 'lying.zip'), [{ type: 'file', name: 'main.py', content, declaredSize: 1.5 * MIB }]);
    const destination = path.join(tmp, 'out');

    const error = await rejectionOf(extractArchive({ file: archive, format: 'zip', destination }));

    expect(error).toBeInstanceOf(UpdateError);
    expect((error as UpdateError).code).toBe('ARCHIVE_INVALID');
    expect(existsSync(destination)).toBe(false);
  });
});

describe('extractArchive tar input', () => {
  it('accepts a tar without gzip', async () => {
    const gzipped = await makeTarGz(path.join(tmp, 'plain.tar.gz'), [file('main.py', 'print(1)\n'), file('lib/a.py', 'a')]);
    await writeFile(gzipped, gunzipSync(await readFile(gzipped)));
    const destination = path.join(tmp, 'out');

    await extractArchive({ file: gzipped, format: 'tar.gz', destination });

    expect(await readFile(path.join(destination, 'main.py'), 'utf8')).toBe('print(1)\n');
    expect(await readFile(path.join(destination, 'lib', 'a.py'), 'utf8')).toBe('a');
  });
});

describe.each([true, false])('FileWriteQueue (writer thread %s)', (useWorker) => {
  function planned(name: string, executable = false): PlannedEntry {
    return { name, kind: 'file', path: path.join(tmp, name), executable };
  }

  function budget(maxTotalBytes = DEFAULT_EXTRACT_LIMITS.maxTotalBytes): ExtractionBudget {
    return new ExtractionBudget({ ...DEFAULT_EXTRACT_LIMITS, maxTotalBytes }, 'test.zip', MIB);
  }

  const queues: FileWriteQueue[] = [];
  function createQueue(counter: ExtractionBudget, signal?: AbortSignal): FileWriteQueue {
    const queue = new FileWriteQueue(counter, signal, { useWorker });
    queues.push(queue);
    return queue;
  }

  afterEach(() => {
    for (const queue of queues.splice(0)) queue.close();
  });

  it('writes files and counts bytes', async () => {
    const counter = budget();
    const queue = createQueue(counter);

    await queue.add(planned('a.txt'), Buffer.from('alpha'));
    await queue.add(planned('b.sh', true), Buffer.from('beta'));
    await queue.drain();

    expect(queue.mode).toBe(useWorker ? 'worker' : 'thread-pool');
    expect(await readFile(path.join(tmp, 'a.txt'), 'utf8')).toBe('alpha');
    expect(await readFile(path.join(tmp, 'b.sh'), 'utf8')).toBe('beta');
    expect((await stat(path.join(tmp, 'a.txt'))).mode & 0o777).toBe(0o644);
    expect((await stat(path.join(tmp, 'b.sh'))).mode & 0o777).toBe(0o755);
    expect(counter.bytes).toBe(9);
  });

  it('writes many batches', async () => {
    const queue = createQueue(budget());
    const contents = Array.from({ length: 300 }, (_, index) => randomBytes(index * 100));

    for (const [index, content] of contents.entries()) await queue.add(planned(`f${index}.bin`), content);
    await queue.drain();

    for (const [index, content] of contents.entries()) expect(sha256(await readFile(path.join(tmp, `f${index}.bin`)))).toBe(sha256(content));
  });

  it('reports a failed write later', async () => {
    const queue = createQueue(budget());

    await queue.add(planned('missing-folder/a.txt'), Buffer.from('x'));
    const error = await rejectionOf(queue.drain());
    await queue.settle();

    expect((error as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(await rejectionOf(queue.add(planned('b.txt'), Buffer.from('y')))).toBe(error);
    expect(existsSync(path.join(tmp, 'b.txt'))).toBe(false);
  });

  it('names the entry of a clash', async () => {
    await writeFile(path.join(tmp, 'taken.txt'), 'first');
    const queue = createQueue(budget());

    await queue.add(planned('taken.txt'), Buffer.from('second'));
    const error = await rejectionOf(queue.drain());

    expect((error as UpdateError).code).toBe('ARCHIVE_INVALID');
    expect((error as UpdateError).message).toContain('taken.txt');
    expect(await readFile(path.join(tmp, 'taken.txt'), 'utf8')).toBe('first');
  });

  it('stops at the byte limit before writing', async () => {
    const queue = createQueue(budget(4));

    const error = await rejectionOf(queue.add(planned('big.txt'), Buffer.from('too large')));
    await queue.drain().catch(() => undefined);

    expect((error as UpdateError).code).toBe('ARCHIVE_TOO_LARGE');
    expect(existsSync(path.join(tmp, 'big.txt'))).toBe(false);
  });

  it('rejects adds after cancel', async () => {
    const controller = new AbortController();
    const queue = createQueue(budget(), controller.signal);
    controller.abort();

    const error = await rejectionOf(queue.add(planned('late.txt'), Buffer.from('z')));
    await queue.drain();

    expect(error).toBeInstanceOf(CancelledError);
    expect(existsSync(path.join(tmp, 'late.txt'))).toBe(false);
  });
});

describe('BlockFileReader', () => {
  async function readerOf(data: Buffer): Promise<BlockFileReader> {
    const target = path.join(tmp, 'data.bin');
    await writeFile(target, data);
    return new BlockFileReader(openSync(target, 'r'));
  }

  function closeReader(reader: BlockFileReader): Promise<void> {
    return new Promise((resolve, reject) => reader.close((error) => (error ? reject(error) : resolve())));
  }

  it('reads ranges across blocks', async () => {
    const data = randomBytes(3 * MIB + 123);
    const reader = await readerOf(data);

    const first = await reader.readRange(10, 100);
    const crossing = await reader.readRange(MIB - 50, 100);
    const large = await reader.readRange(5, 2 * MIB);
    const tail = await reader.readRange(data.length - 10, 100);
    await closeReader(reader);

    expect(first.equals(data.subarray(10, 110))).toBe(true);
    expect(crossing.equals(data.subarray(MIB - 50, MIB + 50))).toBe(true);
    expect(large.equals(data.subarray(5, 5 + 2 * MIB))).toBe(true);
    expect(tail.equals(data.subarray(data.length - 10))).toBe(true);
  });

  it('streams a range larger than a block', async () => {
    const data = randomBytes(3 * MIB + 7);
    const reader = await readerOf(data);

    const chunks: Buffer[] = [];
    for await (const chunk of reader._readStreamForRange(100, data.length)) chunks.push(chunk as Buffer);
    await closeReader(reader);

    expect(sha256(Buffer.concat(chunks))).toBe(sha256(data.subarray(100)));
  });
});
