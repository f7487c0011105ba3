import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { downloadFile } from '../main/updater/download';
import { UpdateError } from '../main/updater/errors';
import type { ReleaseAsset } from '../main/updater/feeds/types';
import { httpRequest, readBody } from '../main/updater/http';
import { silentLogger } from '../main/logger';
import {
  resolveExpectedSha256,
  sha256File,
  verifyCachedFile,
  verifySha256,
  type ResolveExpectedSha256Input,
} from '../main/updater/verify';

const ASSET = 'python-backend-2.1.0.zip';
const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const ABC_UPPER = ABC.toUpperCase();
const ABD = createHash('sha256').update('abd').digest('hex');
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

let dir: string;
let server: http.Server | null = null;
let origin = '';
/** Path → body served by the test server; any other path returns 404. */
let files: Map<string, string>;
let fetched: string[];

async function startFileServer(): Promise<void> {
  server = http.createServer((request, response) => {
    const body = files.get(request.url ?? '');
    if (body === undefined) {
      response.writeHead(404);
      response.end('not found');
      return;
    }
    response.writeHead(200, { 'content-length': String(Buffer.byteLength(body)) });
    response.end(body);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function asset(name: string, overrides: Partial<ReleaseAsset> = {}): ReleaseAsset {
  const body = files.get(`/${name}`);
  return { name, size: body === undefined ? null : Buffer.byteLength(body), url: `${origin}/${name}`, digest: null, ...overrides };
}

async function fetchText(target: ReleaseAsset): Promise<string> {
  fetched.push(target.name);
  const response = await httpRequest(target.url);
  if (response.status !== 200) {
    response.body.resume();
    throw new Error(`unexpected HTTP ${response.status} for ${target.url}`);
  }
  return (await readBody(response)).toString('utf8');
}

function input(overrides: Partial<ResolveExpectedSha256Input> = {}): ResolveExpectedSha256Input {
  return { archive: asset(ASSET), sidecar: null, sums: null, fetchText, ...overrides };
}

async function captureError(run: () => Promise<unknown>): Promise<UpdateError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(UpdateError);
    return error as UpdateError;
  }
  throw new Error('expected an UpdateError');
}

/** Resolves the expected hash, downloads the archive from the test server and verifies it. */
async function downloadAndVerify(resolveInput: ResolveExpectedSha256Input): Promise<{ sha256: string; source: string }> {
  const expected = await resolveExpectedSha256(resolveInput);
  if (!expected) throw new Error('no checksum source resolved');
  const result = await downloadFile({
    url: resolveInput.archive.url,
    destination: path.join(dir, resolveInput.archive.name),
    expectedSize: resolveInput.archive.size,
    logger: silentLogger,
  });
  verifySha256(result.sha256, expected.sha256, resolveInput.archive.name);
  return expected;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'verify-test-'));
  files = new Map([[`/${ASSET}`, 'abc']]);
  fetched = [];
  await startFileServer();
});

afterEach(async () => {
  const running = server;
  server = null;
  if (running) {
    running.closeAllConnections();
    await new Promise<void>((resolve) => running.close(() => resolve()));
  }
  await rm(dir, { recursive: true, force: true });
});

describe('resolveExpectedSha256 published formats', () => {
  it.each([
    ['bare uppercase sidecar', `${ABC_UPPER}\n`],
    ['named sidecar line', `${ABC}  ${ASSET}\n`],
  ])('verifies download with %s', async (_label, text) => {
    files.set(`/${ASSET}.sha256`, text);

    const expected = await downloadAndVerify(input({ sidecar: asset(`${ASSET}.sha256`) }));

    expect(expected).toEqual({ sha256: ABC, source: 'sidecar' });
  });

  it.each([
    ['two-space line', `${ABC}  ${ASSET}\n`],
    ['binary mode line', `${ABC} *${ASSET}\n`],
    ['dot slash line', `${ABC}  ./${ASSET}\n`],
    ['CRLF file with others', `${'b'.repeat(64)}  python-backend-2.1.0.tar.gz\r\n${ABC_UPPER}  ${ASSET}\r\n`],
  ])('verifies download with SUMS %s', async (_label, text) => {
    files.set('/SHA256SUMS', text);

    const expected = await downloadAndVerify(input({ sums: asset('SHA256SUMS') }));

    expect(expected).toEqual({ sha256: ABC, source: 'sums' });
  });

  it('verifies download with feed digest', async () => {
    const expected = await downloadAndVerify(input({ archive: asset(ASSET, { digest: `sha256:${ABC_UPPER}` }) }));

    expect(expected).toEqual({ sha256: ABC, source: 'digest' });
    expect(fetched).toEqual([]);
  });

  it('falls back to SUMS for null digest', async () => {
    files.set('/SHA256SUMS', `${ABC}  ${ASSET}\n`);

    const expected = await resolveExpectedSha256(input({ archive: asset(ASSET, { digest: null }), sums: asset('SHA256SUMS') }));

    expect(expected).toEqual({ sha256: ABC, source: 'sums' });
  });

  it('returns null without any source', async () => {
    expect(await resolveExpectedSha256(input())).toBeNull();
  });
});

describe('resolveExpectedSha256 rejected sources', () => {
  it.each([
    ['too short digest', 'sha256:ba78'],
    ['sha512 digest', `sha512:${'c'.repeat(128)}`],
  ])('rejects %s', async (_label, digest) => {
    const error = await captureError(() => resolveExpectedSha256(input({ archive: asset(ASSET, { digest }) })));
    expect(error.code).toBe('CHECKSUM_FORMAT');
    expect(error.message).toContain(ASSET);
  });

  it.each([
    ['no line for the asset', `${ABC}  other.zip\n`],
    ['two different lines', `${ABC}  ${ASSET}\n${ABD}  ./${ASSET}\n`],
  ])('rejects SUMS with %s', async (_label, text) => {
    files.set('/SHA256SUMS', text);

    const error = await captureError(() => resolveExpectedSha256(input({ sums: asset('SHA256SUMS') })));

    expect(error.code).toBe('CHECKSUM_FORMAT');
    expect(error.message).toContain('SHA256SUMS');
  });

  it('never skips malformed sidecar', async () => {
    files.set(`/${ASSET}.sha256`, 'sha256:ba78\n');
    const archive = asset(ASSET, { digest: `sha256:${ABC}` });

    const error = await captureError(() => resolveExpectedSha256(input({ archive, sidecar: asset(`${ASSET}.sha256`) })));

    expect(error.code).toBe('CHECKSUM_FORMAT');
  });

  it('rejects malformed configured value', async () => {
    const error = await captureError(() => resolveExpectedSha256(input({ configured: 'not-a-digest' })));
    expect(error.code).toBe('CHECKSUM_FORMAT');
  });
});

describe('resolveExpectedSha256 precedence', () => {
  it('prefers configuration over agreeing sources', async () => {
    files.set(`/${ASSET}.sha256`, ABC);
    files.set('/SHA256SUMS', `${ABC}  ${ASSET}\n`);
    const archive = asset(ASSET, { digest: `sha256:${ABC}` });

    const expected = await resolveExpectedSha256(
      input({ archive, sidecar: asset(`${ASSET}.sha256`), sums: asset('SHA256SUMS'), configured: ABC_UPPER }),
    );

    expect(expected).toEqual({ sha256: ABC, source: 'config' });
    expect(fetched).toEqual([`${ASSET}.sha256`, 'SHA256SUMS']);
  });

  it('prefers digest over sidecar', async () => {
    files.set(`/${ASSET}.sha256`, ABC);

    const expected = await resolveExpectedSha256(input({ archive: asset(ASSET, { digest: ABC }), sidecar: asset(`${ASSET}.sha256`) }));

    expect(expected?.source).toBe('digest');
  });

  it('treats blank configuration as absent', async () => {
    expect(await resolveExpectedSha256(input({ configured: '  ' }))).toBeNull();
  });

  it('rejects disagreeing digest and sidecar', async () => {
    files.set(`/${ASSET}.sha256`, `${ABD}  ${ASSET}\n`);
    const archive = asset(ASSET, { digest: `sha256:${ABC}` });

    const error = await captureError(() => resolveExpectedSha256(input({ archive, sidecar: asset(`${ASSET}.sha256`) })));

    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.message).toContain('feed digest');
    expect(error.message).toContain(`sidecar ${ASSET}.sha256`);
    expect(error.details?.source).toBe('digest');
    expect(error.details?.otherSource).toBe('sidecar');
    expect(error.details?.sha256).toBe(ABC);
    expect(error.details?.otherSha256).toBe(ABD);
  });

  it('rejects configuration that disagrees with SUMS', async () => {
    files.set('/SHA256SUMS', `${ABD}  ${ASSET}\n`);

    const error = await captureError(() => resolveExpectedSha256(input({ sums: asset('SHA256SUMS'), configured: ABC })));

    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.details?.source).toBe('config');
    expect(error.details?.otherSource).toBe('sums');
  });
});

describe('verifySha256', () => {
  it('compares hex without case', () => {
    expect(() => verifySha256(ABC, ABC_UPPER, ASSET)).not.toThrow();
    expect(() => verifySha256(ABC_UPPER, `sha256:${ABC}`, ASSET)).not.toThrow();
  });

  it('names expected, actual and file', () => {
    let caught: unknown;
    try {
      verifySha256(ABC, ABD, ASSET);
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(UpdateError);
    const error = caught as UpdateError;
    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(ABC);
    expect(error.message).toContain(ABD);
    expect(error.message).toContain(ASSET);
    expect(error.details).toEqual({ file: ASSET, expected: ABD, actual: ABC });
  });
});

describe('sha256File', () => {
  it('hashes large and empty files', async () => {
    const large = Buffer.alloc(5 * 1024 * 1024 + 3, 0x5a);
    await writeFile(path.join(dir, 'large.bin'), large);
    await writeFile(path.join(dir, 'empty.bin'), '');

    expect(await sha256File(path.join(dir, 'large.bin'))).toBe(createHash('sha256').update(large).digest('hex'));
    expect(await sha256File(path.join(dir, 'empty.bin'))).toBe(EMPTY);
  });
});

describe('wrong file and stale cache', () => {
  it('checks size before hashing', async () => {
    const archive = asset(ASSET, { size: 133058412 });

    const error = await captureError(() =>
      downloadFile({ url: archive.url, destination: path.join(dir, ASSET), expectedSize: archive.size, expectedSha256: ABC, logger: silentLogger }),
    );

    expect(error.code).toBe('SIZE_MISMATCH');
    expect(error.details?.actual).toBe(3);
    expect(error.details?.expected).toBe(133058412);
    expect(await readdir(dir)).toEqual([]);
  });

  it('deletes download hashed from other bytes', async () => {
    files.set(`/${ASSET}.sha256`, `${ABD}  ${ASSET}\n`);
    const expected = await resolveExpectedSha256(input({ sidecar: asset(`${ASSET}.sha256`) }));
    expect(expected).toEqual({ sha256: ABD, source: 'sidecar' });

    const error = await captureError(() =>
      downloadFile({ url: `${origin}/${ASSET}`, destination: path.join(dir, ASSET), expectedSize: 3, expectedSha256: expected?.sha256, logger: silentLogger }),
    );

    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.message).toContain(ASSET);
    expect(error.details).toEqual({ file: ASSET, expected: ABD, actual: ABC });
    expect(await readdir(dir)).toEqual([]);
  });

  it('replaces corrupt cached file', async () => {
    const cached = path.join(dir, ASSET);
    await writeFile(cached, 'abd');

    expect(await verifyCachedFile(cached, { size: 3, sha256: ABC })).toBe(false);
    expect(existsSync(cached)).toBe(false);
    const result = await downloadFile({ url: `${origin}/${ASSET}`, destination: cached, expectedSize: 3, expectedSha256: ABC, logger: silentLogger });

    expect(result.sha256).toBe(ABC);
    expect(await verifyCachedFile(cached, { size: 3, sha256: `sha256:${ABC_UPPER}` })).toBe(true);
    expect(existsSync(cached)).toBe(true);
  });

  it.each([
    ['wrong size', 'abcd', { size: 3, sha256: ABC }],
    ['no expected digest', 'abc', { size: 3, sha256: null }],
  ])('rejects cached file with %s', async (_label, content, expected) => {
    const cached = path.join(dir, ASSET);
    await writeFile(cached, content);

    expect(await verifyCachedFile(cached, expected)).toBe(false);
    expect(existsSync(cached)).toBe(false);
  });

  it('reports missing cached file', async () => {
    expect(await verifyCachedFile(path.join(dir, ASSET), { size: 3, sha256: ABC })).toBe(false);
  });
});
