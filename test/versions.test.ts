import fc from 'fast-check';
import { UpdateError } from '../main/updater/errors';
import type { Release, ReleaseAsset } from '../main/updater/feeds/types';
import { compareVersions, parseTag, selectRelease, type SelectOptions } from '../main/updater/versions';
import type { Logger } from '../main/logger';

function asset(name: string, overrides: Partial<ReleaseAsset> = {}): ReleaseAsset {
  return { name, size: 3, url: `http://127.0.0.1:9/${name}`, digest: null, ...overrides };
}

function release(tag: string, overrides: Partial<Release> = {}): Release {
  return {
    tag,
    name: tag,
    notes: '',
    draft: false,
    prerelease: false,
    publishedAt: null,
    assets: [asset(`python-backend-${tag}.zip`)],
    ...overrides,
  };
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug: () => undefined,
    info: () => undefined,
    warn: (message) => warnings.push(message),
    error: () => undefined,
  };
}

function options(currentVersion: string, overrides: Partial<SelectOptions> = {}): SelectOptions {
  return { currentVersion, allowPrerelease: false, ...overrides };
}

function offered(releases: Release[], selectOptions: SelectOptions): string | null {
  const selection = selectRelease(releases, selectOptions);
  return selection.kind === 'update' ? selection.version : null;
}

describe('parseTag', () => {
  it.each([
    ['v1.2.3', '1.2.3'],
    ['1.2.3', '1.2.3'],
    ['v0.30.2', '0.30.2'],
    ['2.1.0-rc.10', '2.1.0-rc.10'],
    ['v2.34.0+3006da5', '2.34.0+3006da5'],
    ['1.0.0-beta.1+exp.sha.5114f85', '1.0.0-beta.1+exp.sha.5114f85'],
  ])('accepts %s as %s', (tag, expected) => {
    expect(parseTag(tag)).toBe(expected);
  });

  it.each([
    'vv0.31.0',
    'v1.0.0.1',
    '4.0.19.2979-ls322',
    'nipkg-feed',
    'untagged-a303cf707acdd4a51302',
    'release-2024-01',
    'V1.2.3',
    ' 1.2.3',
    '1.2.3\n',
    '=1.2.3',
    '01.2.3',
    '1.2',
    'v',
    '',
  ])('rejects %j', (tag) => {
    expect(parseTag(tag)).toBeNull();
  });
});

describe('compareVersions', () => {
  it('compares parts as numbers', () => {
    expect(compareVersions('1.0.10', '1.0.9')).toBeGreaterThan(0);
    expect(compareVersions('v2.10.0', '2.9.0')).toBeGreaterThan(0);
    expect(compareVersions('2.1.0-rc.10', '2.1.0-rc.9')).toBeGreaterThan(0);
    // The trap that numeric comparison avoids.
    expect('2.10.0' > '2.9.0').toBe(false);
  });

  it('ignores build metadata', () => {
    expect(compareVersions('2.34.0+3006da5', '2.34.0')).toBe(0);
  });

  it('rejects an invalid version', () => {
    expect(() => compareVersions('nipkg-feed', '1.0.0')).toThrow(UpdateError);
  });
});

describe('selectRelease', () => {
  it('drops drafts and skips unparsable tags', () => {
    const logger = recordingLogger();
    const releases = [
      release('untagged-a303cf707acdd4a51302', { draft: true, assets: [asset('python-backend-2.2.0.zip')] }),
      release('v2.1.0', { assets: [asset('python-backend-2.1.0.zip', { size: 3 })] }),
    ];

    const selection = selectRelease(releases, options('2.0.0', { logger }));

    expect(selection).toMatchObject({ kind: 'update', version: '2.1.0', release: { tag: 'v2.1.0' } });
    expect(logger.warnings).toEqual([]);
  });

  it('never coerces an untagged release', () => {
    const logger = recordingLogger();
    const releases = [release('untagged-a303cf707acdd4a51302'), release('release-2024-01'), release('v2.1.0')];

    expect(offered(releases, options('2.0.0', { logger }))).toBe('2.1.0');
    expect(logger.warnings).toHaveLength(2);
    expect(logger.warnings[0]).toContain('untagged-a303cf707acdd4a51302');
    expect(logger.warnings[1]).toContain('release-2024-01');
  });

  it('survives junk tags beside v-prefixed ones', () => {
    const logger = recordingLogger();
    const tags = ['v0.30.2', '0.30.1', 'nipkg-feed', 'v1.0.0.1', 'vv0.31.0', '4.0.19.2979-ls322'];

    const selection = selectRelease(tags.map((tag) => release(tag)), options('0.30.1', { logger }));

    expect(selection).toMatchObject({ kind: 'update', version: '0.30.2' });
    expect(logger.warnings).toHaveLength(4);
    for (const junk of ['nipkg-feed', 'v1.0.0.1', 'vv0.31.0', '4.0.19.2979-ls322']) {
      expect(logger.warnings.some((line) => line.includes(`"${junk}"`))).toBe(true);
    }
  });

  it('lets the tag decide, not the name', () => {
    const logger = recordingLogger();
    const releases = [release('release-2024-01', { name: 'v9.0.0' }), release('v2.1.0')];

    expect(offered(releases, options('2.0.0', { logger }))).toBe('2.1.0');
    expect(logger.warnings).toHaveLength(1);
  });

  it('compares versions numerically', () => {
    expect(offered([release('v1.0.10')], options('1.0.9'))).toBe('1.0.10');
    expect(offered([release('v2.10.0')], options('2.9.0'))).toBe('2.10.0');
    expect(offered([release('v0.9.9'), release('v0.15.0')], options('0.0.0'))).toBe('0.15.0');
    expect(offered([release('2.1.0-rc.10')], options('2.1.0-rc.9', { allowPrerelease: true }))).toBe('2.1.0-rc.10');
  });

  it('ignores build metadata for updates', () => {
    const withAsset = release('v2.34.0+3006da5', { assets: [asset('python-backend-2.34.0.zip')] });

    expect(selectRelease([withAsset], options('2.34.0'))).toEqual({
      kind: 'none',
      reason: 'up-to-date',
      latestVersion: '2.34.0+3006da5',
    });
    expect(selectRelease([release('1.0.0+2')], options('1.0.0+1'))).toMatchObject({ kind: 'none', reason: 'up-to-date' });
    expect(selectRelease([release('1.0.0+2')], options('1.0.0+1', { allowDowngrade: true }))).toMatchObject({ kind: 'none' });
  });

  it('picks highest version whatever the order', () => {
    const releases = [
      release('v1.19.1', { publishedAt: '2024-06-02T00:00:00Z' }),
      release('v1.20.0', { publishedAt: '2024-05-20T00:00:00Z' }),
    ];

    expect(offered(releases, options('1.19.0'))).toBe('1.20.0');
    expect(offered([...releases].reverse(), options('1.19.0'))).toBe('1.20.0');
  });

  it('treats flag or part as prerelease', () => {
    const flagged = release('v2.1.0', { prerelease: true });
    const suffixed = release('v2.2.0-beta.1');

    expect(selectRelease([flagged, suffixed], options('2.0.0'))).toEqual({
      kind: 'none',
      reason: 'no-eligible-release',
      latestVersion: null,
    });
    expect(offered([flagged], options('2.0.0', { allowPrerelease: true }))).toBe('2.1.0');
    expect(offered([flagged, suffixed], options('2.0.0', { allowPrerelease: true }))).toBe('2.2.0-beta.1');
  });

  it('offers stable over its own prerelease', () => {
    expect(offered([release('v2.1.0')], options('2.1.0-beta.2'))).toBe('2.1.0');
  });

  it('admits prereleases of the channel', () => {
    const releases = [release('v2.1.0'), release('v2.2.0-beta.1'), release('v2.3.0-alpha.1'), release('v2.4.0-rc.1')];

    expect(offered(releases, options('2.0.0', { channel: 'beta' }))).toBe('2.2.0-beta.1');
    expect(offered(releases, options('2.0.0', { channel: 'BETA' }))).toBe('2.2.0-beta.1');
    expect(offered(releases, options('2.0.0', { channel: 'alpha' }))).toBe('2.3.0-alpha.1');
    expect(offered(releases, options('2.0.0', { channel: null }))).toBe('2.1.0');
    expect(offered(releases, options('2.0.0', { channel: 'beta', allowPrerelease: true }))).toBe('2.4.0-rc.1');
  });

  it('excludes flagged release without channel part', () => {
    const releases = [release('v2.1.0'), release('v2.3.0', { prerelease: true })];

    expect(offered(releases, options('2.0.0', { channel: 'beta' }))).toBe('2.1.0');
  });

  it('rejects downgrades unless allowed', () => {
    const releases = [release('v2.0.0'), release('v2.1.0')];

    expect(selectRelease(releases, options('3.0.0'))).toEqual({ kind: 'none', reason: 'up-to-date', latestVersion: '2.1.0' });
    expect(selectRelease(releases, options('3.0.0', { allowDowngrade: true }))).toMatchObject({ kind: 'update', version: '2.1.0' });
    expect(selectRelease(releases, options('2.1.0', { allowDowngrade: true }))).toMatchObject({ kind: 'none', reason: 'up-to-date' });
  });

  it('keeps releases without assets eligible', () => {
    expect(offered([release('v2.1.0', { assets: [] })], options('2.0.0'))).toBe('2.1.0');
  });

  it('reports empty list as no eligible release', () => {
    expect(selectRelease([], options('2.0.0'))).toEqual({ kind: 'none', reason: 'no-eligible-release', latestVersion: null });
  });

  it('rejects an invalid current version', () => {
    expect(() => selectRelease([release('v2.1.0')], options('2.0'))).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
    expect(offered([release('v2.1.0')], options('v2.0.0'))).toBe('2.1.0');
  });

  it('selects the maximum in any order', () => {
    const version = fc
      .tuple(fc.nat(20), fc.nat(20), fc.nat(20))
      .map(([major, minor, patch]) => `${major}.${minor}.${patch}`);

    fc.assert(
      fc.property(fc.uniqueArray(version, { minLength: 1, maxLength: 12 }), fc.boolean(), (versions, prefix) => {
        const releases = versions.map((value) => release(prefix ? `v${value}` : value));
        const expected = [...versions].sort(compareVersions).at(-1);
        const shuffled = [...releases].sort(() => 0.5 - Math.random());

        const selection = selectRelease(shuffled, options('0.0.0', { allowDowngrade: true }));
        if (expected === '0.0.0') return selection.kind === 'none';
        return selection.kind === 'update' && selection.version === expected;
      }),
    );
  });
});
