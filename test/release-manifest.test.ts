import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArchiveName, releaseArchiveName } from '../main/release/naming';
import { UpdateError } from '../main/updater/errors';
import {
  assertArchiveMatches,
  formatReleaseManifest,
  matchManifestAsset,
  parseReleaseManifest,
  type ManifestExpectation,
  type ReleaseManifest,
  type ReleaseManifestAsset,
} from '../main/updater/signature/release-manifest';
import { assertNotBelowVerified, checkFreshness, TrustRecordStore } from '../main/updater/trust-record';
import { makeTempDir } from './helpers/world';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function asset(overrides: Partial<ReleaseManifestAsset> = {}): ReleaseManifestAsset {
  return { name: 'python-backend-2.1.0-linux-x64.tar.gz', platform: 'linux', arch: 'x64', size: 1000, sha256: SHA_A, ...overrides };
}

function manifest(overrides: Partial<ReleaseManifest> = {}): ReleaseManifest {
  return {
    schema: 1,
    product: 'python-backend',
    version: '2.1.0',
    assets: [asset(), asset({ name: 'python-backend-2.1.0-win32-x64.zip', platform: 'win32', sha256: SHA_B, size: 2000 })],
    ...overrides,
  };
}

function expectation(overrides: Partial<ManifestExpectation> = {}): ManifestExpectation {
  return { product: 'python-backend', version: '2.1.0', assetName: 'python-backend-2.1.0-linux-x64.tar.gz', platform: 'linux', arch: 'x64', size: 1000, ...overrides };
}

function codeOf(action: () => unknown): string | null {
  try {
    action();
    return null;
  } catch (error) {
    return error instanceof UpdateError ? error.code : `not an UpdateError: ${String(error)}`;
  }
}

describe('release manifest format', () => {
  it('round-trips with sorted assets', () => {
    const text = formatReleaseManifest(manifest({ assets: [asset({ name: 'z.zip' }), asset({ name: 'a.zip' })] }));
    const parsed = parseReleaseManifest(text);
    expect(parsed.assets.map((entry) => entry.name)).toEqual(['a.zip', 'z.zip']);
    expect(formatReleaseManifest(parsed)).toBe(text);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it.each([
    ['not JSON', '{'],
    ['another schema', JSON.stringify({ ...manifest(), schema: 2 })],
    ['a v-prefixed version', JSON.stringify(manifest({ version: 'v2.1.0' }))],
    ['a loose version', JSON.stringify(manifest({ version: '2.1' }))],
    ['an uppercase hash', JSON.stringify(manifest({ assets: [asset({ sha256: SHA_A.toUpperCase() })] }))],
    ['a name with a slash', JSON.stringify(manifest({ assets: [asset({ name: '../python-backend.zip' })] }))],
    ['no assets', JSON.stringify(manifest({ assets: [] }))],
    ['a negative size', JSON.stringify(manifest({ assets: [asset({ size: -1 })] }))],
    ['a duplicate name', JSON.stringify(manifest({ assets: [asset(), asset({ platform: 'darwin' })] }))],
  ])('rejects %s', (_case, text) => {
    expect(codeOf(() => parseReleaseManifest(text))).toBe('MANIFEST_MISMATCH');
  });
});

describe('matchManifestAsset', () => {
  it('returns the entry of the chosen archive', () => {
    expect(matchManifestAsset(manifest(), expectation())).toEqual(asset());
  });

  it('accepts an entry for any platform', () => {
    const neutral = manifest({ assets: [asset({ name: 'python-backend-2.1.0.zip', platform: 'any', arch: 'any' })] });
    expect(matchManifestAsset(neutral, expectation({ assetName: 'python-backend-2.1.0.zip', platform: 'darwin', arch: 'arm64' })).name).toBe('python-backend-2.1.0.zip');
  });

  it('accepts an unknown feed size', () => {
    expect(matchManifestAsset(manifest(), expectation({ size: null })).size).toBe(1000);
  });

  it.each<[string, Partial<ManifestExpectation>]>([
    ['another product', { product: 'other-backend' }],
    ['an older signed version', { version: '2.2.0' }],
    ['an unlisted archive', { assetName: 'python-backend-2.1.0-linux-arm64.tar.gz' }],
    ['another platform', { platform: 'darwin' }],
    ['another arch', { arch: 'arm64' }],
    ['another size', { size: 1001 }],
  ])('rejects %s', (_case, overrides) => {
    expect(codeOf(() => matchManifestAsset(manifest(), expectation(overrides)))).toBe('MANIFEST_MISMATCH');
  });

  it('names both versions on a replay', () => {
    try {
      matchManifestAsset(manifest({ version: '2.0.0' }), expectation({ version: '2.1.0' }));
      expect.unreachable();
    } catch (error) {
      expect((error as UpdateError).message).toContain('signed for version 2.0.0');
      expect((error as UpdateError).message).toContain('tagged 2.1.0');
    }
  });
});

describe('assertArchiveMatches', () => {
  it('accepts the signed size and hash', () => {
    expect(codeOf(() => assertArchiveMatches(asset(), { size: 1000, sha256: SHA_A.toUpperCase() }))).toBeNull();
  });

  it('rejects another size or hash', () => {
    expect(codeOf(() => assertArchiveMatches(asset(), { size: 999, sha256: SHA_A }))).toBe('MANIFEST_MISMATCH');
    expect(codeOf(() => assertArchiveMatches(asset(), { size: 1000, sha256: SHA_B }))).toBe('MANIFEST_MISMATCH');
  });
});

describe('release archive names', () => {
  it('builds and parses targeted names', () => {
    const name = releaseArchiveName('2.1.0-beta.1', 'win32', 'arm64', 'zip');
    expect(name).toBe('python-backend-2.1.0-beta.1-win32-arm64.zip');
    expect(parseArchiveName(name)).toEqual({ version: '2.1.0-beta.1', platform: 'win32', arch: 'arm64', format: 'zip' });
  });

  it.each([
    ['python-backend-2.1.0.tar.gz', { version: '2.1.0', platform: 'any', arch: 'any', format: 'tar.gz' }],
    ['python-backend-2.1.0-rc-1.zip', { version: '2.1.0-rc-1', platform: 'any', arch: 'any', format: 'zip' }],
    ['python-backend-2.1.0-linux-x64.tgz', { version: '2.1.0', platform: 'linux', arch: 'x64', format: 'tar.gz' }],
  ])('parses %s', (name, parsed) => {
    expect(parseArchiveName(name)).toEqual(parsed);
  });

  it.each(['backend-2.1.0-linux-x64.zip', 'python-backend-v2.1.0-linux-x64.zip', 'python-backend-2.1-linux-x64.zip', 'python-backend-2.1.0-linux-x64.exe', 'python-backend-release.json'])(
    'rejects %s',
    (name) => {
      expect(parseArchiveName(name)).toBeNull();
    },
  );
});

describe('TrustRecordStore', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await makeTempDir('bu-trust-');
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('raises the highest verified version only', async () => {
    const store = TrustRecordStore.forHome(dir);
    expect((await store.read()).highestVerifiedVersion).toBeNull();
    await store.recordVerified('2.1.0');
    await store.recordVerified('2.0.5');
    expect((await store.read()).highestVerifiedVersion).toBe('2.1.0');
    await store.recordVerified('2.10.0');
    expect((await store.read()).highestVerifiedVersion).toBe('2.10.0');
    expect(JSON.parse(await fs.readFile(path.join(dir, 'trust.json'), 'utf8'))).toMatchObject({ highestVerifiedVersion: '2.10.0' });
  });

  it('rejects versions below the record', () => {
    const record = { highestVerifiedVersion: '2.1.0', lastSuccessfulCheckAt: null, firstCheckAt: null };
    expect(codeOf(() => assertNotBelowVerified(record, '2.0.9', false))).toBe('DOWNGRADE_REJECTED');
    expect(codeOf(() => assertNotBelowVerified(record, '2.1.0-beta.1', false))).toBe('DOWNGRADE_REJECTED');
    expect(codeOf(() => assertNotBelowVerified(record, '2.1.0', false))).toBeNull();
    expect(codeOf(() => assertNotBelowVerified(record, '2.0.9', true))).toBeNull();
  });

  it('reports checks overdue after the limit', async () => {
    const store = TrustRecordStore.forHome(dir);
    const start = new Date('2026-01-01T00:00:00Z');
    await store.recordCheckAttempt(start);
    const record = await store.read();
    expect(checkFreshness(record, 14, new Date('2026-01-10T00:00:00Z')).stale).toBe(false);
    expect(checkFreshness(record, 14, new Date('2026-01-16T00:00:01Z'))).toEqual({ stale: true, days: 15, lastSuccessfulCheckAt: null });
    expect(checkFreshness(record, null, new Date('2027-01-01T00:00:00Z')).stale).toBe(false);

    await store.recordSuccessfulCheck(new Date('2026-01-15T00:00:00Z'));
    const after = await store.read();
    expect(after.firstCheckAt).toBe(start.toISOString());
    expect(checkFreshness(after, 14, new Date('2026-01-20T00:00:00Z')).stale).toBe(false);
  });

  it('fails closed on a corrupt record', async () => {
    await fs.writeFile(path.join(dir, 'trust.json'), '{"highestVerifiedVersion": 3');
    await expect(TrustRecordStore.forHome(dir).read()).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });
});
