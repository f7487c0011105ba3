import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { packSampleBackend, type PackSampleOptions } from '../main/release/pack-sample';
import { UpdateError } from '../main/updater/errors';

interface ListedEntry {
  name: string;
  mode: number;
  content: string;
}

const tempDirs: string[] = [];

async function makeTempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pack-sample-test-'));
  tempDirs.push(dir);
  return dir;
}

async function pack(overrides: Partial<PackSampleOptions> = {}) {
  return packSampleBackend({ version: '2.0.0', outDir: await makeTempDir(), ...overrides });
}

async function listZip(file: string): Promise<ListedEntry[]> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  const entries: ListedEntry[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      // Unix "version made by" (high byte 3) is what makes the mode bits meaningful.
      expect(entry.versionMadeBy >> 8).toBe(3);
      const mode = (entry.externalFileAttributes >>> 16) & 0o7777;
      let content = '';
      if (!entry.fileName.endsWith('/')) {
        const stream = await zip.openReadStreamPromise(entry);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        content = Buffer.concat(chunks).toString('utf8');
      }
      entries.push({ name: entry.fileName, mode, content });
    }
  } finally {
    zip.close();
  }
  return entries;
}

async function listTarGz(file: string): Promise<ListedEntry[]> {
  const entries: ListedEntry[] = [];
  await tar.t({
    file,
    onReadEntry: (entry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => {
        entries.push({ name: entry.path, mode: (entry.mode ?? 0) & 0o7777, content: Buffer.concat(chunks).toString('utf8') });
      });
    },
  });
  return entries;
}

function archiveOf(files: string[], format: 'zip' | 'tar.gz'): string {
  const file = files.find((name) => name.endsWith(`.${format}`));
  if (file === undefined) throw new Error(`no ${format} archive in ${files.join(', ')}`);
  return file;
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex');
}

afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

describe('packSampleBackend', () => {
  it('names both archives by prefix and version', async () => {
    const release = await pack();

    expect(release.version).toBe('2.0.0');
    expect(release.files.map((file) => path.basename(file))).toEqual(['python-backend-2.0.0.zip', 'python-backend-2.0.0.tar.gz']);
    for (const file of release.files) expect(path.isAbsolute(file)).toBe(true);
    expect(path.basename(release.sumsFile)).toBe('SHA256SUMS');
  });

  it('stores main.py as 0755 in zip', async () => {
    const release = await pack();
    const entries = await listZip(archiveOf(release.files, 'zip'));

    expect(entries.map((entry) => entry.name).sort()).toEqual(['VERSION', 'main.py']);
    expect(entries.find((entry) => entry.name === 'main.py')?.mode).toBe(0o755);
    expect(entries.find((entry) => entry.name === 'VERSION')?.mode).toBe(0o644);
  });

  it('stores main.py as 0755 in tar.gz', async () => {
    const release = await pack();
    const entries = await listTarGz(archiveOf(release.files, 'tar.gz'));

    expect(entries.map((entry) => entry.name).sort()).toEqual(['VERSION', 'main.py']);
    expect(entries.find((entry) => entry.name === 'main.py')?.mode).toBe(0o755);
    expect(entries.find((entry) => entry.name === 'VERSION')?.mode).toBe(0o644);
  });

  it('writes the version into VERSION', async () => {
    const release = await pack({ version: '2.1.0-rc.1' });
    const sample = await fs.readFile(new URL('../examples/python-backend/main.py', import.meta.url), 'utf8');

    for (const entries of [await listZip(archiveOf(release.files, 'zip')), await listTarGz(archiveOf(release.files, 'tar.gz'))]) {
      expect(entries.find((entry) => entry.name === 'VERSION')?.content).toBe('2.1.0-rc.1\n');
      expect(entries.find((entry) => entry.name === 'main.py')?.content).toBe(sample);
    }
  });

  it('wraps files in the default top folder', async () => {
    const release = await pack({ topFolder: true });
    const expected = ['python-backend-2.0.0/', 'python-backend-2.0.0/VERSION', 'python-backend-2.0.0/main.py'];

    const zipEntries = await listZip(archiveOf(release.files, 'zip'));
    const tarEntries = await listTarGz(archiveOf(release.files, 'tar.gz'));

    expect(zipEntries.map((entry) => entry.name).sort()).toEqual(expected);
    expect(tarEntries.map((entry) => entry.name).sort()).toEqual(expected);
    expect(zipEntries.find((entry) => entry.name.endsWith('main.py'))?.mode).toBe(0o755);
    expect(tarEntries.find((entry) => entry.name.endsWith('main.py'))?.mode).toBe(0o755);
  });

  it('uses a named top folder', async () => {
    const release = await pack({ topFolder: 'backend', formats: ['tar.gz'] });
    const entries = await listTarGz(release.files[0]!);

    expect(entries.map((entry) => entry.name).sort()).toEqual(['backend/', 'backend/VERSION', 'backend/main.py']);
  });

  it('adds the requested fault marker', async () => {
    const failing = await pack({ fault: 'fail-health', formats: ['zip'] });
    const crashing = await pack({ fault: 'crash-on-start', formats: ['tar.gz'] });

    const failingNames = (await listZip(failing.files[0]!)).map((entry) => entry.name);
    const crashingNames = (await listTarGz(crashing.files[0]!)).map((entry) => entry.name);

    expect(failingNames.sort()).toEqual(['FAIL_HEALTH', 'VERSION', 'main.py']);
    expect(crashingNames.sort()).toEqual(['CRASH_ON_START', 'VERSION', 'main.py']);
  });

  it('writes SHA256SUMS matching the archives', async () => {
    const release = await pack({ platformSuffix: 'linux-x64' });
    const lines = (await fs.readFile(release.sumsFile, 'utf8')).trimEnd().split('\n');

    expect(lines).toHaveLength(2);
    for (const file of release.files) {
      const name = path.basename(file);
      const hex = await sha256Of(file);
      expect(release.sha256[name]).toBe(hex);
      expect(lines).toContain(`${hex}  ${name}`);
    }
    expect(Object.keys(release.sha256).sort()).toEqual(['python-backend-2.0.0-linux-x64.tar.gz', 'python-backend-2.0.0-linux-x64.zip']);
  });

  it('lists only the requested format', async () => {
    const release = await pack({ formats: ['zip'], namePrefix: 'my-python-backend' });
    const sums = await fs.readFile(release.sumsFile, 'utf8');

    expect(release.files.map((file) => path.basename(file))).toEqual(['my-python-backend-2.0.0.zip']);
    expect(sums).toBe(`${await sha256Of(release.files[0]!)}  my-python-backend-2.0.0.zip\n`);
  });

  it('produces identical bytes on repeat', async () => {
    const first = await pack({ topFolder: true });
    const second = await pack({ topFolder: true });

    expect(second.sha256).toEqual(first.sha256);
  });

  it('extracts an executable main.py', async () => {
    const release = await pack({ formats: ['tar.gz'] });
    const target = await makeTempDir();

    await tar.x({ file: release.files[0]!, cwd: target });
    const stats = await fs.stat(path.join(target, 'main.py'));

    expect(stats.mode & 0o111).not.toBe(0);
  });

  it('rejects a version unsafe for a name', async () => {
    const outDir = path.join(await makeTempDir(), 'out');

    const result = packSampleBackend({ version: '../2.0.0', outDir });

    await expect(result).rejects.toBeInstanceOf(UpdateError);
    await expect(result).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(fs.stat(outDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
