import { archiveFormat, nameTokens, selectAsset, type AssetTarget } from '../main/updater/assets';
import type { UpdateError } from '../main/updater/errors';
import type { Release, ReleaseAsset } from '../main/updater/feeds/types';

function asset(name: string): ReleaseAsset {
  return { name, size: 3, url: `http://127.0.0.1:9/download/v2.1.0/${name}`, digest: null };
}

function release(names: string[], overrides: Partial<Release> = {}): Release {
  return {
    tag: 'v2.1.0',
    name: 'Backend 2.1.0',
    notes: '',
    draft: false,
    prerelease: false,
    publishedAt: null,
    assets: names.map(asset),
    ...overrides,
  };
}

function target(platform: NodeJS.Platform, arch: string): AssetTarget {
  return { platform, arch };
}

function chosenName(names: string[], on: AssetTarget): string {
  return selectAsset(release(names), on).archive.name;
}

function selectionError(names: string[], on: AssetTarget): UpdateError {
  try {
    selectAsset(release(names), on);
  } catch (error) {
    return error as UpdateError;
  }
  throw new Error(`expected selectAsset to fail for ${names.join(', ')}`);
}

/** Assets of one release in API order, with a sidecar and a differently cased Linux archive. */
const MIXED_ASSETS = [
  'python-backend-2.1.0-macos-arm64.zip',
  'python-backend-2.1.0-win-x64.zip.sha256',
  'python-backend-2.1.0-win-x64.zip',
  'Python-Backend-2.1.0-linux-x64.tar.gz',
];

describe('archiveFormat', () => {
  it.each([
    ['a.zip', 'zip'],
    ['A.ZIP', 'zip'],
    ['a.tar.gz', 'tar.gz'],
    ['a.TGZ', 'tar.gz'],
    ['a.tar.xz', null],
    ['a.zip.sha256', null],
    ['a.exe', null],
  ])('maps %s to %s', (name, format) => {
    expect(archiveFormat(name)).toBe(format);
  });
});

describe('nameTokens', () => {
  it('keeps x86_64 as one token', () => {
    expect(nameTokens('python-backend-linux-x86_64.tar.gz')).toContain('x86_64');
    expect(nameTokens('python-backend-linux-x86-64.tar.gz')).toContain('x86_64');
    expect(nameTokens('python-backend-linux-x86_64.tar.gz')).not.toContain('x86');
  });
});

describe('selectAsset', () => {
  it('picks the Windows archive among mixed assets', () => {
    const choice = selectAsset(release(MIXED_ASSETS), target('win32', 'x64'));

    expect(choice.archive.name).toBe('python-backend-2.1.0-win-x64.zip');
    expect(choice.format).toBe('zip');
    expect(choice.sidecar?.name).toBe('python-backend-2.1.0-win-x64.zip.sha256');
    expect(choice.sums).toBeNull();
  });

  it('matches the marker without case', () => {
    const choice = selectAsset(release(MIXED_ASSETS), target('linux', 'x64'));

    expect(choice.archive.name).toBe('Python-Backend-2.1.0-linux-x64.tar.gz');
    expect(choice.format).toBe('tar.gz');
    expect(choice.sidecar).toBeNull();
  });

  it('picks the macOS arm64 archive', () => {
    expect(chosenName(MIXED_ASSETS, target('darwin', 'arm64'))).toBe('python-backend-2.1.0-macos-arm64.zip');
  });

  it('never falls back to another arch', () => {
    for (const on of [target('darwin', 'x64'), target('win32', 'arm64'), target('linux', 'arm64')]) {
      const error = selectionError(MIXED_ASSETS, on);
      expect(error.code).toBe('NO_MATCHING_ASSET');
      expect(error.message).toContain('v2.1.0');
      expect(error.message).toContain(`${on.platform}-${on.arch}`);
      expect(error.message).toContain('python-backend-2.1.0-win-x64.zip');
      expect(error.details).toMatchObject({ release: 'v2.1.0', platform: on.platform, arch: on.arch });
    }
  });

  it('raises on two fitting archives', () => {
    const names = ['python-backend-2.1.0-win-x64.zip', 'python-backend-2.1.0-windows-amd64.tar.gz'];

    const error = selectionError(names, target('win32', 'x64'));

    expect(error.code).toBe('AMBIGUOUS_ASSET');
    expect(error.message).toContain('python-backend-2.1.0-win-x64.zip');
    expect(error.message).toContain('python-backend-2.1.0-windows-amd64.tar.gz');
    expect(error.retryable).toBe(false);
  });

  it('picks one format of the same build', () => {
    const names = ['python-backend-2.1.0.zip', 'python-backend-2.1.0.tar.gz'];

    expect(chosenName(names, target('linux', 'x64'))).toBe('python-backend-2.1.0.tar.gz');
    expect(chosenName(names, target('darwin', 'arm64'))).toBe('python-backend-2.1.0.tar.gz');
    expect(chosenName(names, target('win32', 'x64'))).toBe('python-backend-2.1.0.zip');
  });

  it('uses a generic archive everywhere', () => {
    for (const on of [target('win32', 'x64'), target('linux', 'arm64'), target('darwin', 'x64')]) {
      expect(chosenName(['python-backend-2.1.0.zip'], on)).toBe('python-backend-2.1.0.zip');
    }
  });

  it('prefers the platform archive over generic', () => {
    const names = ['python-backend-2.1.0.zip', 'python-backend-2.1.0-win-x64.zip'];

    expect(chosenName(names, target('win32', 'x64'))).toBe('python-backend-2.1.0-win-x64.zip');
    expect(chosenName(names, target('linux', 'x64'))).toBe('python-backend-2.1.0.zip');
  });

  it('skips generic when platform is named', () => {
    const names = ['python-backend-2.1.0.zip', 'python-backend-2.1.0-linux-arm64.tar.gz'];

    expect(selectionError(names, target('linux', 'x64')).code).toBe('NO_MATCHING_ASSET');
  });

  it('prefers the arch archive over arch-neutral', () => {
    const names = ['python-backend-2.1.0-linux.tar.gz', 'python-backend-2.1.0-linux-arm64.tar.gz'];

    expect(chosenName(names, target('linux', 'arm64'))).toBe('python-backend-2.1.0-linux-arm64.tar.gz');
    expect(chosenName(names, target('linux', 'x64'))).toBe('python-backend-2.1.0-linux.tar.gz');
  });

  it.each([
    ['python-backend-2.1.0-windows-x86_64.zip', target('win32', 'x64')],
    ['python-backend-2.1.0-win64.zip', target('win32', 'x64')],
    ['python-backend-2.1.0-win32-ia32.zip', target('win32', 'ia32')],
    ['python-backend_2.1.0_osx_amd64.tgz', target('darwin', 'x64')],
    ['python-backend-2.1.0-darwin-aarch64.tar.gz', target('darwin', 'arm64')],
    ['python-backend-2.1.0-linux-i686.tar.gz', target('linux', 'ia32')],
    ['python-backend-2.1.0-linux-x86-64.tar.gz', target('linux', 'x64')],
  ])('accepts alias name %s', (name, on) => {
    expect(chosenName([name], on)).toBe(name);
  });

  it('rejects x86_64 on ia32', () => {
    expect(selectionError(['python-backend-2.1.0-linux-x86_64.tar.gz'], target('linux', 'ia32')).code).toBe('NO_MATCHING_ASSET');
  });

  it('matches whole tokens only', () => {
    const names = ['python-backend-2.1.0-winter-edition.zip'];

    expect(chosenName(names, target('linux', 'x64'))).toBe('python-backend-2.1.0-winter-edition.zip');
  });

  it('fits universal archives to darwin only', () => {
    const universal = 'python-backend-2.1.0-macos-universal.zip';

    expect(chosenName([universal], target('darwin', 'arm64'))).toBe(universal);
    expect(chosenName([universal], target('darwin', 'x64'))).toBe(universal);
    expect(chosenName([universal, 'python-backend-2.1.0-macos-arm64.zip'], target('darwin', 'arm64'))).toBe(
      'python-backend-2.1.0-macos-arm64.zip',
    );
    expect(selectionError(['python-backend-2.1.0-universal.zip'], target('linux', 'x64')).code).toBe('NO_MATCHING_ASSET');
  });

  it('ignores non-archives and unmarked archives', () => {
    const names = [
      'python-backend-2.1.0-win-x64.exe',
      'python-backend-2.1.0-win-x64.zip.sha256',
      'backend-2.1.0-win-x64.zip',
      'SHA256SUMS',
    ];

    expect(selectionError(names, target('win32', 'x64')).code).toBe('NO_MATCHING_ASSET');
  });

  it('names no assets when release is empty', () => {
    const error = selectionError([], target('linux', 'x64'));

    expect(error.code).toBe('NO_MATCHING_ASSET');
    expect(error.message).toContain('Assets: none');
  });

  it.each(['SHA256SUMS', 'sha256sums.txt', 'SHA256SUMS.txt', 'checksums.txt'])('finds sums file %s', (sumsName) => {
    const choice = selectAsset(release(['python-backend-2.1.0-linux-x64.tar.gz', sumsName]), target('linux', 'x64'));

    expect(choice.sums?.name).toBe(sumsName);
    expect(choice.archive.name).toBe('python-backend-2.1.0-linux-x64.tar.gz');
  });

  it('prefers SHA256SUMS over checksums.txt', () => {
    const names = ['checksums.txt', 'python-backend-2.1.0.zip', 'SHA256SUMS'];

    expect(selectAsset(release(names), target('linux', 'x64')).sums?.name).toBe('SHA256SUMS');
  });
});
