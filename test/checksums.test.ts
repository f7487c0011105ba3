import fc from 'fast-check';
import { normalizeDigest, parseChecksumFile, type ChecksumFileKind } from '../main/updater/checksums';
import { UpdateError } from '../main/updater/errors';

const ASSET = 'python-backend-2.1.0.zip';
const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const ABC_UPPER = ABC.toUpperCase();
const OTHER = 'a'.repeat(64);
const SHA512_ABC =
  'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f';

function formatError(run: () => unknown): UpdateError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UpdateError);
    expect((error as UpdateError).code).toBe('CHECKSUM_FORMAT');
    return error as UpdateError;
  }
  throw new Error('expected CHECKSUM_FORMAT');
}

describe('normalizeDigest', () => {
  it.each([
    ['bare lowercase', ABC],
    ['bare uppercase', ABC_UPPER],
    ['prefixed uppercase hex', `sha256:${ABC_UPPER}`],
    ['uppercase prefix', `SHA256:${ABC}`],
    ['surrounding whitespace', `  sha256:${ABC}\n`],
  ])('accepts %s', (_label, digest) => {
    expect(normalizeDigest(digest)).toBe(ABC);
  });

  it('rejects too short digest', () => {
    const error = formatError(() => normalizeDigest('sha256:ba78'));
    expect(error.message).toContain('sha256:ba78');
    expect(error.message).toContain('4 hex digits');
  });

  it('rejects sha512 algorithm', () => {
    const error = formatError(() => normalizeDigest(`sha512:${SHA512_ABC}`));
    expect(error.message).toContain('sha512');
    expect(error.details?.algorithm).toBe('sha512');
  });

  it('rejects bare sha512 length', () => {
    const error = formatError(() => normalizeDigest(SHA512_ABC));
    expect(error.message).toContain('SHA-512');
  });

  it.each([
    ['non-hex characters', 'g'.repeat(64)],
    ['empty text', ''],
    ['prefix without hex', 'sha256:'],
    ['hex with inner space', `${ABC.slice(0, 32)} ${ABC.slice(32)}`],
  ])('rejects %s', (_label, digest) => {
    formatError(() => normalizeDigest(digest));
  });
});

describe('parseChecksumFile accepted forms', () => {
  const accepted: [string, ChecksumFileKind, string][] = [
    ['bare uppercase sidecar', 'sidecar', `${ABC_UPPER}\n`],
    ['bare sidecar without newline', 'sidecar', ABC],
    ['prefixed bare sidecar', 'sidecar', `sha256:${ABC}`],
    ['named sidecar line', 'sidecar', `${ABC}  ${ASSET}\n`],
    ['two-space text mode', 'sums', `${ABC}  ${ASSET}\n`],
    ['binary mode flag', 'sums', `${ABC} *${ASSET}\n`],
    ['leading dot slash', 'sums', `${ABC}  ./${ASSET}\n`],
    ['binary flag and dot slash', 'sums', `${ABC} *./${ASSET}\n`],
    ['single space separator', 'sums', `${ABC} ${ASSET}\n`],
    ['tab separator', 'sums', `${ABC}\t${ASSET}\n`],
    ['uppercase hex line', 'sums', `${ABC_UPPER}  ${ASSET}\n`],
    ['BSD style line', 'sums', `SHA256 (${ASSET}) = ${ABC}\n`],
    ['BSD style dot slash', 'sums', `SHA256 (./${ASSET}) = ${ABC_UPPER}\n`],
    ['CRLF with comments', 'sums', `# checksums\r\n\r\n${OTHER}  other.tar.gz\r\n${ABC}  ${ASSET}\r\n`],
    ['byte order mark', 'sums', `\uFEFF${ABC}  ${ASSET}\n`],
    ['identical duplicate lines', 'sums', `${ABC}  ${ASSET}\n${ABC_UPPER} *./${ASSET}\n`],
    ['sha512 line of another file', 'sums', `${SHA512_ABC}  other.zip\n${ABC}  ${ASSET}\n`],
    ['escaped GNU line', 'sums', `\\${ABC}  ${ASSET}\n`],
  ];

  it.each(accepted)('accepts %s', (_label, kind, text) => {
    expect(parseChecksumFile(text, ASSET, kind)).toBe(ABC);
  });

  it('unescapes backslash in names', () => {
    expect(parseChecksumFile(`\\${ABC}  dir\\\\${ASSET}\n`, `dir\\${ASSET}`, 'sums')).toBe(ABC);
  });

  it('finds asset among random lines', () => {
    const otherLine = fc
      .tuple(fc.stringMatching(/^[0-9a-f]{64}$/), fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/))
      .filter(([, name]) => name !== ASSET)
      .map(([hex, name]) => `${hex}  ${name}`);
    const assetLine = fc.constantFrom(`${ABC}  ${ASSET}`, `${ABC_UPPER} *${ASSET}`, `${ABC}  ./${ASSET}`, `SHA256 (${ASSET}) = ${ABC}`);
    fc.assert(
      fc.property(fc.array(otherLine), fc.array(otherLine), assetLine, fc.constantFrom('\n', '\r\n'), (before, after, line, eol) => {
        const text = [...before, line, ...after].join(eol);
        expect(parseChecksumFile(text, ASSET, 'sums')).toBe(ABC);
      }),
    );
  });
});

describe('parseChecksumFile rejected forms', () => {
  it('rejects bare digest in SUMS file', () => {
    const error = formatError(() => parseChecksumFile(`${ABC}\n`, ASSET, 'sums', 'SHA256SUMS'));
    expect(error.message).toContain('SHA256SUMS');
    expect(error.message).toContain('no file name');
  });

  it('rejects short bare sidecar digest', () => {
    const error = formatError(() => parseChecksumFile('sha256:ba78\n', ASSET, 'sidecar'));
    expect(error.message).toContain('sha256:ba78');
  });

  it('rejects sha512 line for asset', () => {
    const error = formatError(() => parseChecksumFile(`${SHA512_ABC}  ${ASSET}\n`, ASSET, 'sums'));
    expect(error.message).toContain('SHA-512');
  });

  it('rejects BSD line of another algorithm', () => {
    const error = formatError(() => parseChecksumFile(`SHA512 (${ASSET}) = ${SHA512_ABC}\n`, ASSET, 'sums'));
    expect(error.message).toContain('SHA512');
  });

  it('rejects file without asset line', () => {
    const error = formatError(() => parseChecksumFile(`${OTHER}  other.zip\n`, ASSET, 'sums', 'SHA256SUMS'));
    expect(error.message).toContain(ASSET);
    expect(error.details?.asset).toBe(ASSET);
  });

  it.each([
    ['different case', `${ABC}  Python-Backend-2.1.0.zip\n`],
    ['folder prefix', `${ABC}  dist/${ASSET}\n`],
    ['longer name', `${ABC}  ${ASSET}.sig\n`],
    ['extra leading space', `${ABC} * ${ASSET}\n`],
  ])('matches names exactly despite %s', (_label, text) => {
    formatError(() => parseChecksumFile(text, ASSET, 'sums'));
  });

  it('rejects two different digests', () => {
    const error = formatError(() => parseChecksumFile(`${ABC}  ${ASSET}\n${OTHER} *./${ASSET}\n`, ASSET, 'sums'));
    expect(error.message).toContain('lines 1 and 2');
    expect(error.details?.first).toBe(ABC);
    expect(error.details?.second).toBe(OTHER);
  });

  it('rejects unparseable line', () => {
    const error = formatError(() => parseChecksumFile(`<html><body>Not Found</body></html>\n`, ASSET, 'sidecar'));
    expect(error.details?.line).toBe(1);
  });

  it('rejects empty and comment-only files', () => {
    formatError(() => parseChecksumFile('', ASSET, 'sidecar'));
    formatError(() => parseChecksumFile('# nothing here\n\n', ASSET, 'sums'));
  });

  it('rejects bare digest mixed with lines', () => {
    formatError(() => parseChecksumFile(`${ABC}\n${ABC}  ${ASSET}\n`, ASSET, 'sidecar'));
  });

  it('defaults to the stricter SUMS kind', () => {
    formatError(() => parseChecksumFile(ABC, ASSET));
  });
});
