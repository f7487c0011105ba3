import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { DEFAULT_EXTRACT_LIMITS, extractArchive, resolveEntryPath, type ExtractFormat } from '../main/updater/archive';
import { CancelledError, UpdateError } from '../main/updater/errors';
import { dir, file, hardlink, makeTarGz, makeZip, symlink, zeros, type ArchiveEntry } from './helpers/archives';

const FORMATS: ExtractFormat[] = ['zip', 'tar.gz'];
const isWindows = process.platform === 'win32';

let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'archive-test-'));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Builds an archive of `format` under the temp folder and returns its path. */
async function build(format: ExtractFormat, entries: ArchiveEntry[], name = 'release'): Promise<string> {
  const target = path.join(tmp, 'archives', `${name}.${format}`);
  return format === 'zip' ? makeZip(target, entries) : makeTarGz(target, entries);
}

/** Returns every path below `root`, relative and with `/`, sorted. */
async function listTree(root: string): Promise<string[]> {
  const names = await readdir(root, { recursive: true });
  return names.map((name) => name.split(path.sep).join('/')).sort();
}

/** Returns the rejection of `promise`, failing the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

async function updateErrorOf(promise: Promise<unknown>): Promise<UpdateError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(UpdateError);
  return error as UpdateError;
}

describe('resolveEntryPath', () => {
  const root = path.resolve('/tmp/u/stage');

  it.each([
    ['../stage2/evil.txt'],
    ['a/../../x'],
    ['/etc/x'],
    ['C:/x'],
    ['C:'],
    ['c:x'],
    ['\\\\srv\\share\\x'],
    ['//srv/share'],
    ['..\\..\\evil.txt'],
    ['..'],
    ['a\0b'],
    [''],
  ])('rejects %j naming the entry', (name) => {
    let caught: unknown;
    try {
      resolveEntryPath(root, name);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UpdateError);
    expect((caught as UpdateError).code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect((caught as UpdateError).details?.entry).toBe(name);
    expect((caught as UpdateError).message).toContain(`"${name}"`);
  });

  it.each([
    ['..././escape.txt', ['...', 'escape.txt']],
    ['a/b/../c.txt', ['a', 'c.txt']],
    ['python-backend\\lib\\util.py', ['python-backend', 'lib', 'util.py']],
    ['..foo', ['..foo']],
    ['./main.py', ['main.py']],
  ])('accepts %j inside the root', (name, segments) => {
    expect(resolveEntryPath(root, name)).toBe(path.join(root, ...segments));
  });

  it('keeps every accepted name inside', () => {
    const segment = fc.constantFrom('a', '..', '.', '...', 'C:', 'c:', '', 'x y', '\\', '/');
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), fc.constantFrom('/', '\\'), (segments, separator) => {
        const name = segments.join(separator);
        let resolved: string;
        try {
          resolved = resolveEntryPath(root, name);
        } catch (error) {
          return error instanceof UpdateError && error.code === 'UNSAFE_ARCHIVE_ENTRY';
        }
        const relative = path.relative(root, resolved);
        return !path.isAbsolute(relative) && relative.split(path.sep)[0] !== '..';
      }),
    );
  });
});

describe.each(FORMATS)('extractArchive %s', (format) => {
  it('strips one shared top folder', async () => {
    const archive = await build(format, [
      dir('python-backend-2.1.0'),
      file('python-backend-2.1.0/main.py', 'print("hi")\n'),
      file('python-backend-2.1.0/lib/util.py', 'X = 1\n'),
    ]);
    const destination = path.join(tmp, 'out');

    const result = await extractArchive({ file: archive, format, destination });

    expect(result).toEqual({ files: 2, bytes: 18, strippedTopFolder: 'python-backend-2.1.0' });
    expect(await listTree(destination)).toEqual(['lib', 'lib/util.py', 'main.py']);
    expect(await readFile(path.join(destination, 'main.py'), 'utf8')).toBe('print("hi")\n');
  });

  it('extracts archives without top folder', async () => {
    const archive = await build(format, [file('main.py', 'a'), file('lib/util.py', 'b')]);
    const destination = path.join(tmp, 'out');

    const result = await extractArchive({ file: archive, format, destination });

    expect(result.strippedTopFolder).toBeNull();
    expect(await listTree(destination)).toEqual(['lib', 'lib/util.py', 'main.py']);
  });

  it('keeps two top folders', async () => {
    const archive = await build(format, [file('app/main.py', 'a'), file('data/x.txt', 'b')]);
    const destination = path.join(tmp, 'out');

    const result = await extractArchive({ file: archive, format, destination });

    expect(result.strippedTopFolder).toBeNull();
    expect(await listTree(destination)).toEqual(['app', 'app/main.py', 'data', 'data/x.txt']);
  });

  it('skips the macOS metadata folder', async () => {
    const archive = await build(format, [file('backend/main.py', 'a'), file('__MACOSX/backend/._main.py', 'fork')]);
    const destination = path.join(tmp, 'out');

    const result = await extractArchive({ file: archive, format, destination });

    expect(result.strippedTopFolder).toBe('backend');
    expect(await listTree(destination)).toEqual(['main.py']);
  });

  it('accepts dots inside legal names', async () => {
    const archive = await build(format, [file('top/..././escape.txt', 'inside'), file('top/main.py', 'a')]);
    const destination = path.join(tmp, 'u', 'stage');

    await extractArchive({ file: archive, format, destination });

    expect(await readFile(path.join(destination, '...', 'escape.txt'), 'utf8')).toBe('inside');
    expect(await listTree(path.join(tmp, 'u'))).toEqual(['stage', 'stage/...', 'stage/.../escape.txt', 'stage/main.py']);
  });

  describe('hostile entries', () => {
    const hostile = ['../stage2/evil.txt', 'a/../../x', '/etc/x', 'C:/x', '\\\\srv\\share\\x', '..\\..\\evil.txt'];

    it.each(hostile)('rejects %j before writing', async (name) => {
      const archive = await build(format, [file('python-backend/main.py', 'ok'), file(name, 'evil')]);
      const destination = path.join(tmp, 'u', 'stage');

      const error = await updateErrorOf(extractArchive({ file: archive, format, destination }));

      expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
      expect(error.details?.entry).toBe(name);
      expect(error.message).toContain(name);
      expect(existsSync(destination)).toBe(false);
      expect(existsSync(path.join(tmp, 'u', 'stage2'))).toBe(false);
      expect(await readdir(path.join(tmp, 'u'))).toEqual([]);
    });
  });

  it('rejects files written through links', async () => {
    const archive = await build(format, [dir('sub'), symlink('lib', 'sub'), file('lib/evil', 'x')]);
    const destination = path.join(tmp, 'out');

    const error = await updateErrorOf(extractArchive({ file: archive, format, destination }));

    expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect(error.details?.entry).toBe('lib/evil');
    expect(existsSync(destination)).toBe(false);
  });

  it('rejects link chains leaving root', async () => {
    const archive = await build(format, [dir('x/y'), symlink('x/y/s', '../..'), symlink('x/y/escape', 's/../../..'), file('main.py', 'a')]);
    const destination = path.join(tmp, 'u', 'stage');

    const error = await updateErrorOf(extractArchive({ file: archive, format, destination }));

    expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect(error.details?.entry).toBe('x/y/escape');
    expect(existsSync(destination)).toBe(false);
  });

  it.skipIf(isWindows)('creates links inside the root', async () => {
    const archive = await build(format, [file('app/lib/v1/mod.py', 'V = 1'), symlink('app/lib/current', 'v1'), file('app/main.py', 'a')]);
    const destination = path.join(tmp, 'out');

    await extractArchive({ file: archive, format, destination });

    expect(await readlink(path.join(destination, 'lib', 'current'))).toBe('v1');
    expect(await readFile(path.join(destination, 'lib', 'current', 'mod.py'), 'utf8')).toBe('V = 1');
  });

  it('rejects dangling links', async () => {
    const archive = await build(format, [file('main.py', 'a'), symlink('missing', 'nowhere/file')]);
    const destination = path.join(tmp, 'out');

    const error = await updateErrorOf(extractArchive({ file: archive, format, destination }));

    expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect(error.details?.entry).toBe('missing');
  });

  it('rejects duplicate file entries', async () => {
    const archive = await build(format, [file('main.py', 'a'), file('main.py', 'b')]);
    const destination = path.join(tmp, 'out');

    const error = await updateErrorOf(extractArchive({ file: archive, format, destination }));

    expect(error.code).toBe('ARCHIVE_INVALID');
    expect(error.details?.entry).toBe('main.py');
    expect(existsSync(destination)).toBe(false);
  });

  it.skipIf(isWindows)('keeps only the executable bit', async () => {
    const archive = await build(format, [
      file('app/bin/server', '#!/bin/sh\necho started\n', 0o755),
      file('app/bin/setuid', 'x', 0o4775),
      file('app/main.py', 'a', 0o666),
      dir('app/data', 0o777),
    ]);
    const destination = path.join(tmp, 'out');

    await extractArchive({ file: archive, format, destination });

    expect((await stat(path.join(destination, 'bin', 'server'))).mode & 0o7777).toBe(0o755);
    expect((await stat(path.join(destination, 'bin', 'setuid'))).mode & 0o7777).toBe(0o755);
    expect((await stat(path.join(destination, 'main.py'))).mode & 0o7777).toBe(0o644);
    expect((await stat(path.join(destination, 'data'))).mode & 0o7777).toBe(0o755);
    const { stdout } = await promisify(execFile)(path.join(destination, 'bin', 'server'));
    expect(stdout).toBe('started\n');
  });

  it('rejects a zip bomb by ratio', async () => {
    const archive = await build(format, [file('payload/zeros.bin', zeros(50 * 1024 * 1024)), file('payload/main.py', 'a')]);
    const destination = path.join(tmp, 'out');

    const error = await updateErrorOf(extractArchive({ file: archive, format, destination }));

    expect(error.code).toBe('ARCHIVE_TOO_LARGE');
    expect(error.details?.limit).toBe('maxCompressionRatio');
    expect(error.message).toContain(String(DEFAULT_EXTRACT_LIMITS.maxCompressionRatio));
    expect(existsSync(destination)).toBe(false);
  });

  it('enforces maxTotalBytes', async () => {
    const archive = await build(format, [file('main.py', randomBytes(600)), file('data.bin', randomBytes(600))]);
    const destination = path.join(tmp, 'out');

    const error = await updateErrorOf(extractArchive({ file: archive, format, destination, limits: { maxTotalBytes: 1000 } }));

    expect(error.code).toBe('ARCHIVE_TOO_LARGE');
    expect(error.details?.limit).toBe('maxTotalBytes');
    expect(error.message).toContain('1000');
    expect(existsSync(destination)).toBe(false);
  });

  it('enforces maxEntries', async () => {
    const archive = await build(format, [file('a', '1'), file('b', '2'), file('c', '3'), file('d', '4')]);
    const destination = path.join(tmp, 'out');

    const error = await updateErrorOf(extractArchive({ file: archive, format, destination, limits: { maxEntries: 3 } }));

    expect(error.code).toBe('ARCHIVE_TOO_LARGE');
    expect(error.details?.limit).toBe('maxEntries');
    expect(error.message).toContain('3 entries');
  });

  it('rejects a truncated archive', async () => {
    const archive = await build(format, [file('top/main.py', randomBytes(200_000)), file('top/b.bin', randomBytes(200_000))]);
    const bytes = await readFile(archive);
    const truncated = path.join(tmp, `truncated.${format}`);
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const destination = path.join(tmp, 'out');

    const error = await updateErrorOf(extractArchive({ file: truncated, format, destination }));

    expect(error.code).toBe('ARCHIVE_INVALID');
    expect(error.message).toContain(truncated);
    expect(existsSync(destination)).toBe(false);
  });

  it('refuses a non-empty destination', async () => {
    const archive = await build(format, [file('main.py', 'a')]);
    const destination = path.join(tmp, 'out');
    await mkdir(destination);
    await writeFile(path.join(destination, 'keep.txt'), 'mine');

    const error = await updateErrorOf(extractArchive({ file: archive, format, destination }));

    expect(error.code).toBe('INVALID_INPUT');
    expect(await readFile(path.join(destination, 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('cancels before starting', async () => {
    const archive = await build(format, [file('main.py', 'a')]);
    const destination = path.join(tmp, 'out');
    const controller = new AbortController();
    controller.abort();

    const error = await rejectionOf(extractArchive({ file: archive, format, destination, signal: controller.signal }));

    expect(error).toBeInstanceOf(CancelledError);
    expect(existsSync(destination)).toBe(false);
  });

  it('cancels while writing', async () => {
    const big = randomBytes(24 * 1024 * 1024);
    const archive = await build(format, [file('top/a.bin', big), file('top/b.bin', big), file('top/main.py', 'a')]);
    const destination = path.join(tmp, 'out');
    const controller = new AbortController();
    const pending = extractArchive({ file: archive, format, destination, signal: controller.signal });
    // Aborts once the first file exists, so the abort lands in the middle of the writing pass.
    const deadline = Date.now() + 10_000;
    while (!existsSync(path.join(destination, 'a.bin')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(existsSync(path.join(destination, 'a.bin'))).toBe(true);
    controller.abort();

    const error = await rejectionOf(pending);

    expect(error).toBeInstanceOf(CancelledError);
    expect(existsSync(destination)).toBe(false);
  });
});

describe('extractArchive options', () => {
  it('validates extraction limits', async () => {
    const archive = await makeZip(path.join(tmp, 'a.zip'), [file('main.py', 'a')]);

    const error = await updateErrorOf(extractArchive({ file: archive, format: 'zip', destination: path.join(tmp, 'bad'), limits: { maxEntries: 0 } }));
    const result = await extractArchive({ file: archive, format: 'zip', destination: path.join(tmp, 'ok'), limits: { maxEntries: undefined } });

    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toContain('maxEntries');
    expect(result.files).toBe(1);
  });

  it('reports a missing archive file', async () => {
    const missing = path.join(tmp, 'missing.zip');

    const error = await updateErrorOf(extractArchive({ file: missing, format: 'zip', destination: path.join(tmp, 'out') }));

    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toContain(missing);
    expect(existsSync(path.join(tmp, 'out'))).toBe(false);
  });
});

describe('extractArchive zip specifics', () => {
  it('turns backslashes into folders', async () => {
    const archive = await makeZip(path.join(tmp, 'ps5.zip'), [
      dir('python-backend\\'),
      file('python-backend\\main.py', 'print(1)'),
      file('python-backend\\lib\\util.py', 'X = 1'),
    ]);
    const destination = path.join(tmp, 'out');

    const result = await extractArchive({ file: archive, format: 'zip', destination });

    expect(result.strippedTopFolder).toBe('python-backend');
    expect(await listTree(destination)).toEqual(['lib', 'lib/util.py', 'main.py']);
  });

  it('rejects backslash parent escapes', async () => {
    const archive = await makeZip(path.join(tmp, 'ps5.zip'), [
      dir('python-backend\\'),
      file('python-backend\\main.py', 'print(1)'),
      file('python-backend\\lib\\util.py', 'X = 1'),
      file('..\\..\\evil.txt', 'evil'),
    ]);
    const destination = path.join(tmp, 'u', 'stage');

    const error = await updateErrorOf(extractArchive({ file: archive, format: 'zip', destination }));

    expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect(error.details?.entry).toBe('..\\..\\evil.txt');
    expect(await readdir(path.join(tmp, 'u'))).toEqual([]);
  });

  it.skipIf(isWindows)('reads Unix mode by high byte', async () => {
    const entries = [file('bin/server', '#!/bin/sh\n', 0o755), file('main.py', 'a')];
    const unix = await makeZip(path.join(tmp, 'unix.zip'), entries, { versionMadeBy: 0x031e });
    const dos = await makeZip(path.join(tmp, 'dos.zip'), entries, { versionMadeBy: 0x001e });

    await extractArchive({ file: unix, format: 'zip', destination: path.join(tmp, 'unix') });
    await extractArchive({ file: dos, format: 'zip', destination: path.join(tmp, 'dos') });

    expect((await stat(path.join(tmp, 'unix', 'bin', 'server'))).mode & 0o111).not.toBe(0);
    expect((await stat(path.join(tmp, 'unix', 'bin', 'server'))).mode & 0o7777).toBe(0o755);
    expect((await stat(path.join(tmp, 'dos', 'bin', 'server'))).mode & 0o7777).toBe(0o644);
  });

  it('rejects entries larger than declared', async () => {
    const content = randomBytes(100_000);
    const archive = await makeZip(path.join(tmp, 'lying.zip'), [{ type: 'file', name: 'main.py', content, declaredSize: 10 }]);
    const destination = path.join(tmp, 'out');

    const error = await updateErrorOf(extractArchive({ file: archive, format: 'zip', destination }));

    expect(error.code).toBe('ARCHIVE_INVALID');
    expect(existsSync(destination)).toBe(false);
  });
});

describe('extractArchive tar specifics', () => {
  it('rejects symlink then file through it', async () => {
    const archive = await makeTarGz(path.join(tmp, 'evil.tar.gz'), [symlink('lib', '../../..'), file('lib/evil', 'evil')]);
    const destination = path.join(tmp, 'u', 'stage');

    const error = await updateErrorOf(extractArchive({ file: archive, format: 'tar.gz', destination }));

    expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect(error.details?.entry).toBe('lib');
    expect(await readdir(path.join(tmp, 'u'))).toEqual([]);
  });

  it('rejects hardlinks leaving the root', async () => {
    const archive = await makeTarGz(path.join(tmp, 'evil.tar.gz'), [file('main.py', 'a'), hardlink('a/b/c/d/x', '../../../../etc/passwd')]);
    const destination = path.join(tmp, 'u', 'stage');

    const error = await updateErrorOf(extractArchive({ file: archive, format: 'tar.gz', destination }));

    expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect(error.details?.entry).toBe('a/b/c/d/x');
    expect(error.message).toContain('../../../../etc/passwd');
    expect(await readdir(path.join(tmp, 'u'))).toEqual([]);
  });

  it('copies hardlinks inside the root', async () => {
    const archive = await makeTarGz(path.join(tmp, 'links.tar.gz'), [file('app/a.txt', 'hello'), hardlink('app/b.txt', 'app/a.txt')]);
    const destination = path.join(tmp, 'out');

    const result = await extractArchive({ file: archive, format: 'tar.gz', destination });

    expect(result.bytes).toBe(10);
    expect(await readFile(path.join(destination, 'b.txt'), 'utf8')).toBe('hello');
    const [a, b] = await Promise.all([lstat(path.join(destination, 'a.txt')), lstat(path.join(destination, 'b.txt'))]);
    expect(b.ino).not.toBe(a.ino);
  });

  it('rejects hardlinks to later entries', async () => {
    const archive = await makeTarGz(path.join(tmp, 'links.tar.gz'), [hardlink('b.txt', 'a.txt'), file('a.txt', 'hello')]);
    const destination = path.join(tmp, 'out');

    const error = await updateErrorOf(extractArchive({ file: archive, format: 'tar.gz', destination }));

    expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect(error.details?.entry).toBe('b.txt');
  });

  it('rejects a hardlink to itself', async () => {
    // Found by the random-entry property test: "a/C:/.." normalizes to "a", its own target.
    const archive = await makeTarGz(path.join(tmp, 'self.tar.gz'), [file('main.py', 'ok'), hardlink('a/C:/..', 'a')]);
    const destination = path.join(tmp, 'out');

    const error = await updateErrorOf(extractArchive({ file: archive, format: 'tar.gz', destination }));

    expect(error.code).toBe('UNSAFE_ARCHIVE_ENTRY');
    expect(error.details?.entry).toBe('a/C:/..');
    expect(existsSync(destination)).toBe(false);
  });
});
