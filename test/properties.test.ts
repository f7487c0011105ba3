/**
 * Property tests (fast-check): release selection against a reference model,
 * hostile archive entries extracted from real zip and tar.gz files, and
 * checksum file parsing.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { extractArchive, type ExtractFormat } from '../main/updater/archive';
import { normalizeDigest, parseChecksumFile } from '../main/updater/checksums';
import { UpdateError } from '../main/updater/errors';
import type { Release } from '../main/updater/feeds/types';
import { selectRelease } from '../main/updater/versions';
import { dir, file, hardlink, makeTarGz, makeZip, symlink, type ArchiveEntry } from './helpers/archives';

describe('selectRelease against a reference model', () => {
  /** A version split into its parts, so the model never parses a string. */
  interface ModelVersion {
    core: [number, number, number];
    pre: (number | string)[];
    build: string[];
  }

  interface ModelRelease {
    version: ModelVersion | null;
    tag: string;
    draft: boolean;
    prereleaseFlag: boolean;
  }

  const identifier = fc.oneof(fc.nat(3), fc.constantFrom('alpha', 'beta', 'rc', 'Beta', 'x-1'));
  const buildPart = fc.constantFrom('1', '2', '001', 'sha', '3006da5', 'exp-1');
  const modelVersion: fc.Arbitrary<ModelVersion> = fc.record({
    core: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3)),
    pre: fc.array(identifier, { maxLength: 2 }),
    build: fc.array(buildPart, { maxLength: 2 }),
  });
  const junkTag = fc.constantFrom('nipkg-feed', 'vv1.0.0', 'v1.0.0.1', 'V1.2.3', 'release-2024-01', 'untagged-a303cf707acdd4a51302', '01.2.3', '1.2', '');

  function render(version: ModelVersion): string {
    const pre = version.pre.length > 0 ? `-${version.pre.join('.')}` : '';
    const build = version.build.length > 0 ? `+${version.build.join('.')}` : '';
    return `${version.core.join('.')}${pre}${build}`;
  }

  /** Semver precedence written out: core numbers, then no prerelease above any, then identifiers. */
  function compare(a: ModelVersion, b: ModelVersion): number {
    for (let index = 0; index < 3; index += 1) {
      const difference = a.core[index]! - b.core[index]!;
      if (difference !== 0) return Math.sign(difference);
    }
    if (a.pre.length === 0 || b.pre.length === 0) return Math.sign(b.pre.length - a.pre.length);
    for (let index = 0; index < Math.min(a.pre.length, b.pre.length); index += 1) {
      const left = a.pre[index]!;
      const right = b.pre[index]!;
      if (left === right) continue;
      if (typeof left === 'number' && typeof right === 'number') return Math.sign(left - right);
      if (typeof left === 'number') return -1;
      if (typeof right === 'number') return 1;
      return left < right ? -1 : 1;
    }
    return Math.sign(a.pre.length - b.pre.length);
  }

  const modelRelease: fc.Arbitrary<ModelRelease> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ version: modelVersion, prefix: fc.boolean(), draft: fc.boolean(), prereleaseFlag: fc.boolean() }).map(({ version, prefix, draft, prereleaseFlag }) => ({ version, tag: `${prefix ? 'v' : ''}${render(version)}`, draft, prereleaseFlag })) },
    { weight: 1, arbitrary: fc.record({ tag: junkTag, draft: fc.boolean(), prereleaseFlag: fc.boolean() }).map((entry) => ({ ...entry, version: null })) },
  );

  const selectOptions = fc.record({
    current: modelVersion,
    allowPrerelease: fc.boolean(),
    allowDowngrade: fc.boolean(),
    channel: fc.constantFrom(null, 'beta', 'rc', 'alpha', 'BETA'),
  });

  function toRelease(model: ModelRelease): Release {
    return { tag: model.tag, name: model.tag, notes: '', draft: model.draft, prerelease: model.prereleaseFlag, publishedAt: null, assets: [] };
  }

  function isEligible(model: ModelRelease, options: { allowPrerelease: boolean; channel: string | null }): model is ModelRelease & { version: ModelVersion } {
    if (model.draft || model.version === null) return false;
    const prerelease = model.prereleaseFlag || model.version.pre.length > 0;
    if (!prerelease || options.allowPrerelease) return true;
    const first = model.version.pre[0];
    return options.channel !== null && first !== undefined && String(first).toLowerCase() === options.channel.toLowerCase();
  }

  /** Returns the highest eligible model version, or null. */
  function bestOf(models: ModelRelease[], options: { allowPrerelease: boolean; channel: string | null }): ModelVersion | null {
    let best: ModelVersion | null = null;
    for (const model of models) {
      if (!isEligible(model, options)) continue;
      if (best === null || compare(model.version, best) > 0) best = model.version;
    }
    return best;
  }

  function modelOf(selected: string, models: ModelRelease[]): ModelVersion {
    const found = models.find((model) => model.version !== null && render(model.version) === selected);
    if (found?.version == null) throw new Error(`selected version ${selected} is not one of the listed releases`);
    return found.version;
  }

  it('matches the model on random feeds', () => {
    fc.assert(
      fc.property(fc.array(modelRelease, { maxLength: 12 }), selectOptions, (models, options) => {
        const selection = selectRelease(models.map(toRelease), { ...options, currentVersion: render(options.current) });
        const best = bestOf(models, options);

        if (best === null) {
          expect(selection).toEqual({ kind: 'none', reason: 'no-eligible-release', latestVersion: null });
          return;
        }
        const order = compare(best, options.current);
        const expectUpdate = order > 0 || (options.allowDowngrade && order < 0);
        expect(selection.kind).toBe(expectUpdate ? 'update' : 'none');
        const chosen = selection.kind === 'update' ? selection.version : selection.latestVersion;
        expect(chosen).not.toBeNull();
        expect(compare(modelOf(chosen!, models), best)).toBe(0);
        if (selection.kind === 'none') expect(selection.reason).toBe('up-to-date');
      }),
      { numRuns: 500 },
    );
  });

  it('never selects a draft or ineligible release', () => {
    fc.assert(
      fc.property(fc.array(modelRelease, { maxLength: 12 }), selectOptions, (models, options) => {
        const releases = models.map(toRelease);
        const selection = selectRelease(releases, { ...options, currentVersion: render(options.current) });
        if (selection.kind !== 'update') return;

        const index = releases.indexOf(selection.release);
        expect(index).toBeGreaterThanOrEqual(0);
        expect(isEligible(models[index]!, options)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never downgrades unless allowed', () => {
    fc.assert(
      fc.property(fc.array(modelRelease, { maxLength: 12 }), selectOptions, (models, options) => {
        const selection = selectRelease(models.map(toRelease), { ...options, allowDowngrade: false, currentVersion: render(options.current) });
        if (selection.kind === 'update') expect(compare(modelOf(selection.version, models), options.current)).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('ignores build metadata for updates', () => {
    fc.assert(
      fc.property(modelVersion, fc.array(fc.array(buildPart, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 5 }), fc.boolean(), (current, builds, allowDowngrade) => {
        const releases = builds.map((build) => toRelease({ version: { ...current, build }, tag: `v${render({ ...current, build })}`, draft: false, prereleaseFlag: false }));

        const selection = selectRelease(releases, { currentVersion: render(current), allowPrerelease: true, allowDowngrade });

        expect(selection.kind).toBe('none');
      }),
      { numRuns: 300 },
    );
  });

  it('selects the same precedence in any order', () => {
    fc.assert(
      fc.property(fc.array(modelRelease, { maxLength: 12 }), selectOptions, (models, options) => {
        const input = { ...options, currentVersion: render(options.current) };
        const forward = selectRelease(models.map(toRelease), input);
        const backward = selectRelease(models.map(toRelease).reverse(), input);

        expect(backward.kind).toBe(forward.kind);
        const version = (selection: typeof forward): string | null => (selection.kind === 'update' ? selection.version : selection.latestVersion);
        const [a, b] = [version(forward), version(backward)];
        if (a === null || b === null) expect(a).toBe(b);
        else expect(compare(modelOf(a, models), modelOf(b, models))).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('archive entries never leave staging', () => {
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'properties-archive-'));
  });

  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const OUTSIDE = 'OUTSIDE:';
  const segment = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('a', 'b', 'lib', '...', '..a', 'x y') },
    { weight: 3, arbitrary: fc.constantFrom('..', '.', 'stage2') },
    { weight: 1, arbitrary: fc.constantFrom('C:', 'c:', '', 'x\0y', 'outside') },
  );
  const separator = fc.constantFrom('/', '\\');
  const lead = fc.oneof(
    { weight: 12, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom('/', '\\\\srv\\share\\', '//srv/share/', 'C:', 'C:/', 'c:\\', OUTSIDE) },
  );

  /** A random entry name; a leading OUTSIDE marker becomes the absolute path of a sentinel folder beside staging. */
  const entryName = fc.tuple(lead, fc.array(segment, { minLength: 1, maxLength: 5 }), separator).map(([start, parts, sep]) => `${start}${parts.join(sep)}`);

  function entry(format: ExtractFormat): fc.Arbitrary<ArchiveEntry> {
    const kinds = [
      { weight: 6, arbitrary: entryName.map((value): ArchiveEntry => file(value, 'evil')) },
      { weight: 2, arbitrary: entryName.map((value): ArchiveEntry => dir(value)) },
      { weight: 1, arbitrary: fc.tuple(entryName, entryName).map(([value, target]): ArchiveEntry => symlink(value, target)) },
    ];
    if (format === 'tar.gz') kinds.push({ weight: 1, arbitrary: fc.tuple(entryName, entryName).map(([value, target]): ArchiveEntry => hardlink(value, target)) });
    return fc.oneof(...kinds);
  }

  function placeOutside(entries: ArchiveEntry[], outside: string): ArchiveEntry[] {
    const resolve = (value: string): string => (value.startsWith(OUTSIDE) ? `${outside}/${value.slice(OUTSIDE.length)}` : value);
    return entries.map((item) => ('target' in item ? { ...item, name: resolve(item.name), target: resolve(item.target) } : { ...item, name: resolve(item.name) }));
  }

  /** Asserts that every path below `stage`, and every link target resolved on disk, lies inside it. Links are not walked into. */
  async function expectContained(stage: string): Promise<void> {
    const realStage = await realpath(stage);
    const folders = [realStage];
    for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
      for (const item of await readdir(folder, { withFileTypes: true })) {
        const absolute = path.join(folder, item.name);
        const relative = path.relative(realStage, item.isSymbolicLink() ? await realpath(absolute) : absolute);
        expect(path.isAbsolute(relative)).toBe(false);
        expect(relative.split(path.sep)[0]).not.toBe('..');
        if (item.isDirectory()) folders.push(absolute);
      }
    }
  }

  it.each(['zip', 'tar.gz'] as const)('keeps random %s entries inside', async (format) => {
    let run = 0;
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(entry(format), { minLength: 1, maxLength: 5 }), async (generated) => {
        run += 1;
        const base = path.join(tmp, `${format.replace('.', '-')}-${run}`);
        const outside = path.join(base, 'outside');
        const stage = path.join(base, 'u', 'stage');
        await mkdir(outside, { recursive: true });
        await mkdir(path.dirname(stage), { recursive: true });
        const entries = [file('main.py', 'ok'), ...placeOutside(generated, outside)];
        const archivePath = path.join(base, `archive.${format}`);
        await (format === 'zip' ? makeZip(archivePath, entries, { raw: true }) : makeTarGz(archivePath, entries));

        let failure: unknown = null;
        try {
          await extractArchive({ file: archivePath, format, destination: stage });
        } catch (error) {
          failure = error;
        }

        expect(await readdir(outside)).toEqual([]);
        expect((await readdir(base)).sort()).toEqual([`archive.${format}`, 'outside', 'u']);
        const outcome = failure instanceof UpdateError ? failure.code : failure === null ? 'extracted' : 'other';
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (failure === null) {
          expect(await readdir(path.dirname(stage))).toEqual(['stage']);
          await expectContained(stage);
        } else {
          expect(failure).toBeInstanceOf(UpdateError);
          expect(['UNSAFE_ARCHIVE_ENTRY', 'ARCHIVE_INVALID']).toContain((failure as UpdateError).code);
          expect(existsSync(stage)).toBe(false);
          expect(await readdir(path.dirname(stage))).toEqual([]);
        }
        await rm(base, { recursive: true, force: true });
      }),
      { numRuns: 200 },
    );

    // Both outcomes must be common, or the property would only prove that everything is rejected.
    expect(outcomes.get('extracted') ?? 0).toBeGreaterThanOrEqual(15);
    expect(outcomes.get('UNSAFE_ARCHIVE_ENTRY') ?? 0).toBeGreaterThanOrEqual(15);
  }, 60_000);
});

describe('checksum file parsing', () => {
  const ASSET = 'python-backend-2.1.0.zip';
  const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
  const otherName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,24}$/).filter((name) => name !== ASSET);

  function randomCase(value: string, mask: boolean[]): string {
    return [...value].map((character, index) => (mask[index % Math.max(mask.length, 1)] ? character.toUpperCase() : character)).join('');
  }

  /** Generates one line for `name` in any accepted format. */
  function line(name: string, digest: string): fc.Arbitrary<string> {
    return fc.tuple(fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.constantFrom('gnu', 'binary', 'dot', 'binary-dot', 'tab', 'bsd', 'bsd-dot')).map(([mask, style]) => {
      const cased = randomCase(digest, mask);
      switch (style) {
        case 'binary':
          return `${cased} *${name}`;
        case 'dot':
          return `${cased}  ./${name}`;
        case 'binary-dot':
          return `${cased} *./${name}`;
        case 'tab':
          return `${cased}\t${name}`;
        case 'bsd':
          return `SHA256 (${name}) = ${cased}`;
        case 'bsd-dot':
          return `SHA256 (./${name}) = ${cased}`;
        default:
          return `${cased}  ${name}`;
      }
    });
  }

  const otherLine = fc.tuple(otherName, hex).chain(([name, digest]) => line(name, digest));
  const filler = fc.oneof(otherLine, fc.constant(''), fc.constant('# comment'), fc.constant('   '));
  const eol = fc.constantFrom('\n', '\r\n', '\r');

  it('returns the lowercase digest in any format', () => {
    fc.assert(
      fc.property(hex, fc.array(filler, { maxLength: 6 }), fc.array(filler, { maxLength: 6 }), fc.integer({ min: 1, max: 3 }), eol, fc.boolean(), (digest, before, after, copies, newline, bom) => {
        const assetLines = fc.sample(line(ASSET, digest), { numRuns: copies });
        const text = `${bom ? '\uFEFF' : ''}${[...before, ...assetLines, ...after].join(newline)}${newline}`;

        expect(parseChecksumFile(text, ASSET, 'sums')).toBe(digest);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects two different digests for the asset', () => {
    fc.assert(
      fc.property(hex, hex, fc.array(otherLine, { maxLength: 4 }), (first, second, others) => {
        fc.pre(first !== second);
        const text = [...others, `${first}  ${ASSET}`, ...others, `SHA256 (./${ASSET}) = ${second.toUpperCase()}`].join('\n');

        expect(() => parseChecksumFile(text, ASSET, 'sums')).toThrow(expect.objectContaining({ code: 'CHECKSUM_FORMAT' }));
      }),
      { numRuns: 200 },
    );
  });

  it('returns a listed digest or raises a format error', () => {
    const noise = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), otherLine, line(ASSET, 'a'.repeat(64)), fc.constant(`sha256:ba78  ${ASSET}`));
    fc.assert(
      fc.property(fc.array(noise, { maxLength: 6 }), eol, fc.constantFrom('sums' as const, 'sidecar' as const), (lines, newline, kind) => {
        const text = lines.join(newline);
        let result: string;
        try {
          result = parseChecksumFile(text, ASSET, kind);
        } catch (error) {
          expect(error).toBeInstanceOf(UpdateError);
          expect((error as UpdateError).code).toBe('CHECKSUM_FORMAT');
          return;
        }
        expect(result).toMatch(/^[0-9a-f]{64}$/);
        expect(text.toLowerCase()).toContain(result);
      }),
      { numRuns: 500 },
    );
  });

  it('normalizes digests or raises a format error', () => {
    const digestText = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.tuple(hex, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.constantFrom('', 'sha256:', 'SHA256:', 'Sha256:'), fc.constantFrom('', ' ', '\n')).map(([digest, mask, prefix, space]) => `${space}${prefix}${randomCase(digest, mask)}${space}`),
    );
    fc.assert(
      fc.property(digestText, (text) => {
        let result: string;
        try {
          result = normalizeDigest(text);
        } catch (error) {
          expect(error).toBeInstanceOf(UpdateError);
          expect((error as UpdateError).code).toBe('CHECKSUM_FORMAT');
          return;
        }
        expect(result).toMatch(/^[0-9a-f]{64}$/);
        expect(text.toLowerCase()).toContain(result);
      }),
      { numRuns: 500 },
    );
  });
});
