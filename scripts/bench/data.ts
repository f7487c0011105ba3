import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { SAMPLE_BACKEND_DIR } from '../../main/release/pack-sample';
import { runTimed } from './processes';

/** Size of each write while generating files. */
const WRITE_CHUNK = 4 * 1024 * 1024;

/** Deterministic 32-bit generator (mulberry32), so every run builds the same bytes. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns a generator of incompressible bytes: AES-256-CTR over zeros with a key made from `seed`. */
function createKeystream(seed: string): (length: number) => Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (length) => cipher.update(Buffer.alloc(length));
}

/**
 * Writes `size` incompressible bytes derived from `seed` to `file` and
 * returns their SHA-256 in hex.
 */
export async function writeRandomFile(file: string, size: number, seed: string): Promise<string> {
  const next = createKeystream(seed);
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'w');
  try {
    for (let written = 0; written < size; written += WRITE_CHUNK) {
      const chunk = next(Math.min(WRITE_CHUNK, size - written));
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

const WORDS = ['self', 'return', 'import', 'def', 'class', 'value', 'config', 'request', 'response', 'result', 'None', 'True', 'data', 'index', 'error', 'logger', 'path', 'items', 'options', 'status'];

/** Builds `size` bytes of Python-like text, which compresses about as well as real source files. */
function buildCorpus(size: number, random: () => number): Buffer {
  const lines: string[] = [];
  let length = 0;
  const pick = (): string => WORDS[Math.floor(random() * WORDS.length)]!;
  while (length < size) {
    const indent = ' '.repeat(4 * Math.floor(random() * 3));
    const line = `${indent}${pick()}_${Math.floor(random() * 1000)} = ${pick()}.${pick()}(${pick()}, ${Math.floor(random() * 100000)})\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

/** Shape of the generated backend folder. */
export interface BackendTreeOptions {
  /** Number of small files, spread over package folders. */
  smallFiles: number;
  /** Smallest and largest small file in bytes. */
  smallMin: number;
  smallMax: number;
  /** Sizes in bytes of the large, partly compressible binaries under `bin/`. */
  binaries: number[];
}

export const REALISTIC_TREE: BackendTreeOptions = {
  smallFiles: 3000,
  smallMin: 1024,
  smallMax: 50 * 1024,
  binaries: [6, 10, 16, 24].map((mib) => mib * 1024 * 1024),
};

/** Content of a large binary: 64 KiB blocks that alternate between random bytes and text. */
async function writeBinary(file: string, size: number, corpus: Buffer, seed: string): Promise<void> {
  const next = createKeystream(seed);
  const block = 64 * 1024;
  const handle = await fs.open(file, 'w', 0o755);
  try {
    for (let written = 0, index = 0; written < size; written += block, index += 1) {
      const length = Math.min(block, size - written);
      await handle.write(index % 2 === 0 ? next(length) : corpus.subarray(0, length));
    }
  } finally {
    await handle.close();
  }
  await fs.chmod(file, 0o755);
}

/**
 * Writes a backend folder that looks like a bundled Python app: the sample
 * backend's main.py and a VERSION file, `smallFiles` modules of 1 to 50 KiB
 * under `lib/`, and a few large binaries under `bin/`. The content depends
 * only on the options, so every run measures the same bytes.
 */
export async function writeBackendTree(root: string, options: BackendTreeOptions, version: string): Promise<{ files: number; bytes: number }> {
  const random = createRandom(0x5eed);
  const corpus = buildCorpus(1024 * 1024, random);
  await fs.mkdir(root, { recursive: true });
  await fs.copyFile(path.join(SAMPLE_BACKEND_DIR, 'main.py'), path.join(root, 'main.py'));
  await fs.chmod(path.join(root, 'main.py'), 0o755);
  await fs.writeFile(path.join(root, 'VERSION'), `${version}\n`);
  let bytes = 0;

  for (let index = 0; index < options.smallFiles; index += 1) {
    const folder = path.join(root, 'lib', `pkg_${index % 30}`, `sub_${Math.floor(index / 30) % 5}`);
    if (index < 150) await fs.mkdir(folder, { recursive: true });
    const size = options.smallMin + Math.floor(random() * (options.smallMax - options.smallMin + 1));
    const header = Buffer.from(`# module ${index}\n`);
    const offset = Math.floor(random() * (corpus.length - size));
    const body = Buffer.concat([header, corpus.subarray(offset, offset + size - header.length)]);
    await fs.writeFile(path.join(folder, `mod_${index}.py`), body);
    bytes += body.length;
  }

  await fs.mkdir(path.join(root, 'bin'), { recursive: true });
  for (const [index, size] of options.binaries.entries()) {
    await writeBinary(path.join(root, 'bin', `engine_${index}.so`), size, corpus, `binary-${index}`);
    bytes += size;
  }
  return { files: options.smallFiles + options.binaries.length + 2, bytes };
}

/** Lists the folders and files below `root`, parents first, as paths relative to it with `/` separators. */
async function listTree(root: string): Promise<{ folders: string[]; files: string[] }> {
  const folders: string[] = [];
  const files: string[] = [];
  const pending = [''];
  for (let relative = pending.shift(); relative !== undefined; relative = pending.shift()) {
    const entries = await fs.readdir(path.join(root, relative), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        folders.push(child);
        pending.push(child);
      } else {
        files.push(child);
      }
    }
  }
  return { folders, files };
}

/** Packs `root` into a zip with yazl, which deflates with zlib at `level` and keeps the Unix modes. */
async function packZip(root: string, zipFile: string, level: number): Promise<void> {
  const { folders, files } = await listTree(root);
  const zip = new yazl.ZipFile();
  for (const folder of folders) zip.addEmptyDirectory(folder, { mode: 0o040755 });
  for (const file of files) {
    const { mode } = await fs.stat(path.join(root, file));
    zip.addFile(path.join(root, file), file, { mode, compressionLevel: level });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(zipFile));
}

/** Packs the contents of `root` into a zip (yazl) and a tar.gz (GNU tar and gzip) at `level` (1-9), both at once. */
export async function packTree(root: string, zipFile: string, tarFile: string, level = 6): Promise<void> {
  await Promise.all([packZip(root, zipFile, level), runTimed(`tar -cf - . | gzip -${level} > '${tarFile}'`, { cwd: root })]);
}
