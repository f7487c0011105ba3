import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { UpdateError } from '../main/updater/errors';
import { blake2b } from '../main/updater/signature/blake2b';
import { formatPublicKey, formatSignature, parsePublicKey, parseSignature, type MinisignSignature } from '../main/updater/signature/minisign';
import { decodeSecretKey, encodeSecretKey, generateSecretKey, isEncryptedSecretKey, publicKeyOf, scryptParameters, type MinisignSecretKey } from '../main/updater/signature/secret-key';
import { signBuffer, signFile } from '../main/updater/signature/sign';
import { loadTrustedKeys } from '../main/updater/signature/trusted-keys';
import { verifySignedBuffer, verifySignedFile } from '../main/updater/signature/verify-signature';
import { makeTempDir } from './helpers/world';
import { describeWithMinisign, runMinisign } from './helpers/minisign';

/** libsodium's "interactive" scrypt limits: N = 2^14, 16 MiB, fast enough for tests. */
const FAST_LIMITS = { opsLimit: 524_288, memLimit: 16_777_216 };

let dir: string;

beforeEach(async () => {
  dir = await makeTempDir('bu-minisign-');
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function expectCode(action: () => unknown, code: string): Promise<UpdateError> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(UpdateError);
  expect((caught as UpdateError).code).toBe(code);
  return caught as UpdateError;
}

/** Returns the signature with one bit flipped in `field`. */
function flipped(signature: MinisignSignature, field: 'signature' | 'globalSignature'): MinisignSignature {
  const bytes = Buffer.from(signature[field]);
  bytes[10] = (bytes[10] as number) ^ 0x01;
  return { ...signature, [field]: bytes };
}

describe('blake2b', () => {
  it('matches Node for 64-byte digests', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (data) => {
        expect(blake2b(data, 64).toString('hex')).toBe(createHash('blake2b512').update(data).digest('hex'));
      }),
      { numRuns: 200 },
    );
  });

  it('computes published BLAKE2b-256 values', () => {
    expect(blake2b(Buffer.from(''), 32).toString('hex')).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
    expect(blake2b(Buffer.from('abc'), 32).toString('hex')).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
  });

  it('rejects an output length above 64', () => {
    expect(() => blake2b(Buffer.from('x'), 65)).toThrow(/dkLen/);
  });
});

describe('minisign signatures', () => {
  let key: MinisignSecretKey;
  const data = Buffer.from('python-backend 2.1.0 archive bytes\n');

  beforeEach(() => {
    key = generateSecretKey();
  });

  it('round-trips through the file format', () => {
    const text = formatSignature(signBuffer(data, 'file.zip', key));
    expect(formatSignature(parseSignature(text))).toBe(text);
    expect(text.split('\n')).toHaveLength(5);
    expect(text).toMatch(/^untrusted comment: .*\nRU[Q-T]/);
  });

  it('verifies prehashed and legacy signatures', () => {
    const keys = [publicKeyOf(key)];
    const prehashed = parseSignature(formatSignature(signBuffer(data, 'file.zip', key)));
    const legacy = parseSignature(formatSignature(signBuffer(data, 'file.zip', key, { algorithm: 'legacy' })));
    expect(verifySignedBuffer(data, prehashed, keys, 'file.zip')).toMatchObject({ keyId: key.keyId, algorithm: 'prehashed' });
    expect(verifySignedBuffer(data, legacy, keys, 'file.zip')).toMatchObject({ keyId: key.keyId, algorithm: 'legacy' });
    expect(prehashed.trustedComment).toMatch(/^timestamp:\d+\tfile:file\.zip\thashed$/);
    expect(legacy.trustedComment).toMatch(/^timestamp:\d+\tfile:file\.zip$/);
  });

  it('rejects every tampered part', async () => {
    const keys = [publicKeyOf(key)];
    const signature = signBuffer(data, 'file.zip', key);
    const changedData = Buffer.from(data);
    changedData[3] = (changedData[3] as number) ^ 0x01;

    await expectCode(() => verifySignedBuffer(changedData, signature, keys, 'file.zip'), 'SIGNATURE_INVALID');
    await expectCode(() => verifySignedBuffer(data, flipped(signature, 'signature'), keys, 'file.zip'), 'SIGNATURE_INVALID');
    await expectCode(() => verifySignedBuffer(data, flipped(signature, 'globalSignature'), keys, 'file.zip'), 'SIGNATURE_INVALID');
    const comment = { ...signature, trustedComment: signature.trustedComment.replace('file.zip', 'file.zap') };
    const error = await expectCode(() => verifySignedBuffer(data, comment, keys, 'file.zip'), 'SIGNATURE_INVALID');
    expect(error.message).toContain('trusted comment');
  });

  it('ignores a changed untrusted comment', () => {
    const signature = { ...signBuffer(data, 'file.zip', key), untrustedComment: 'anything at all' };
    expect(verifySignedBuffer(data, signature, [publicKeyOf(key)], 'file.zip').keyId).toBe(key.keyId);
  });

  it('rejects a key id not in the list', async () => {
    const other = generateSecretKey();
    const error = await expectCode(() => verifySignedBuffer(data, signBuffer(data, 'file.zip', other), [publicKeyOf(key)], 'file.zip'), 'SIGNATURE_INVALID');
    expect(error.details?.keyId).toBe(other.keyId);
    expect(error.message).toContain(key.keyId);
  });

  it('rejects a wrong key behind a trusted id', async () => {
    const impostor = { ...generateSecretKey(), keyNumber: key.keyNumber, keyId: key.keyId };
    const signature = signBuffer(data, 'file.zip', impostor);
    expect(signature.keyId).toBe(key.keyId);
    await expectCode(() => verifySignedBuffer(data, signature, [publicKeyOf(key)], 'file.zip'), 'SIGNATURE_INVALID');
  });

  it('rejects malformed signature files', async () => {
    const text = formatSignature(signBuffer(data, 'file.zip', key));
    const lines = text.split('\n');
    await expectCode(() => parseSignature(lines.slice(0, 3).join('\n')), 'SIGNATURE_INVALID');
    await expectCode(() => parseSignature(text.replace('trusted comment: ', 'trusted: ')), 'SIGNATURE_INVALID');
    const wrongAlgorithm = Buffer.from(lines[1] as string, 'base64');
    wrongAlgorithm.write('Ex', 0, 'latin1');
    await expectCode(() => parseSignature([lines[0], wrongAlgorithm.toString('base64'), lines[2], lines[3]].join('\n')), 'SIGNATURE_INVALID');
    await expectCode(() => parseSignature([lines[0], `${lines[1]}A`, lines[2], lines[3]].join('\n')), 'SIGNATURE_INVALID');
  });

  it('streams files for prehashed signatures', async () => {
    const file = path.join(dir, 'big.bin');
    await fs.writeFile(file, Buffer.alloc(3 * 1024 * 1024, 7));
    const signature = await signFile(file, key);
    expect(signature.trustedComment).toContain('file:big.bin');
    expect((await verifySignedFile(file, signature, [publicKeyOf(key)], 'big.bin')).keyId).toBe(key.keyId);
  });
});

describe('minisign keys', () => {
  it('round-trips an unencrypted secret key', async () => {
    const key = generateSecretKey();
    const text = await encodeSecretKey(key, { password: null });
    expect(isEncryptedSecretKey(text)).toBe(false);
    const decoded = await decodeSecretKey(text, null);
    expect(decoded.keyId).toBe(key.keyId);
    expect(decoded.seed.equals(key.seed)).toBe(true);
  });

  it('round-trips an encrypted secret key', async () => {
    const key = generateSecretKey();
    const text = await encodeSecretKey(key, { password: 'correct horse', limits: FAST_LIMITS });
    expect(isEncryptedSecretKey(text)).toBe(true);
    expect((await decodeSecretKey(text, 'correct horse')).seed.equals(key.seed)).toBe(true);
    const error = await expectCode(() => decodeSecretKey(text, 'wrong horse', 'k.key'), 'INVALID_INPUT');
    expect(error.message).toContain('wrong password');
    await expectCode(() => decodeSecretKey(text, null, 'k.key'), 'INVALID_INPUT');
  });

  it('derives libsodium scrypt parameters', () => {
    expect(scryptParameters({ opsLimit: 33_554_432, memLimit: 1_073_741_824 })).toEqual({ N: 2 ** 20, r: 8, p: 1 });
    expect(scryptParameters(FAST_LIMITS)).toEqual({ N: 2 ** 14, r: 8, p: 1 });
    expect(scryptParameters({ opsLimit: 1_000_000, memLimit: 1_073_741_824 })).toEqual({ N: 2 ** 14, r: 8, p: 1 });
  });

  it('parses a key file or its key line', () => {
    const key = publicKeyOf(generateSecretKey());
    const text = formatPublicKey(key);
    expect(parsePublicKey(text).keyId).toBe(key.keyId);
    expect(parsePublicKey(text.split('\n')[1] as string).publicKey.equals(key.publicKey)).toBe(true);
    expect(text.startsWith(`untrusted comment: minisign public key ${key.keyId}\n`)).toBe(true);
  });

  it('rejects malformed public keys', async () => {
    await expectCode(() => parsePublicKey('untrusted comment: x\nnot-base64!'), 'INVALID_INPUT');
    await expectCode(() => parsePublicKey(Buffer.alloc(42).toString('base64')), 'INVALID_INPUT');
    await expectCode(() => parsePublicKey('one\ntwo\nthree'), 'INVALID_INPUT');
  });

  it('loads trusted keys from files and lines', async () => {
    const first = publicKeyOf(generateSecretKey());
    const second = publicKeyOf(generateSecretKey());
    await fs.writeFile(path.join(dir, 'first.pub'), formatPublicKey(first));
    const inline = formatPublicKey(second).split('\n')[1] as string;
    const keys = await loadTrustedKeys(['first.pub', inline, path.join(dir, 'first.pub')], dir);
    expect(keys.map((key) => key.keyId)).toEqual([first.keyId, second.keyId]);
    const error = await expectCode(() => loadTrustedKeys(['missing.pub'], dir), 'INVALID_INPUT');
    expect(error.message).toContain(path.join(dir, 'missing.pub'));
  });
});

describeWithMinisign('minisign interoperability', () => {
  const file = (): string => path.join(dir, 'python-backend-2.1.0-linux-x64.tar.gz');

  beforeEach(async () => {
    await fs.writeFile(file(), Buffer.from('archive bytes that minisign signs\n'.repeat(100)));
  });

  async function minisignKeyPair(): Promise<{ publicText: string; secretText: string }> {
    const run = await runMinisign(['-G', '-W', '-p', path.join(dir, 'm.pub'), '-s', path.join(dir, 'm.key')]);
    expect(run.status).toBe(0);
    return { publicText: await fs.readFile(path.join(dir, 'm.pub'), 'utf8'), secretText: await fs.readFile(path.join(dir, 'm.key'), 'utf8') };
  }

  it('reads public keys that minisign writes', async () => {
    const { publicText } = await minisignKeyPair();
    const key = parsePublicKey(publicText, 'm.pub');
    expect(publicText).toContain(`minisign public key ${key.keyId}`);
    expect(formatPublicKey(key)).toBe(publicText);
  });

  it('verifies prehashed signatures by minisign', async () => {
    const { publicText } = await minisignKeyPair();
    expect((await runMinisign(['-S', '-s', path.join(dir, 'm.key'), '-m', file(), '-t', 'release 2.1.0'])).status).toBe(0);
    const signature = parseSignature(await fs.readFile(`${file()}.minisig`, 'utf8'));
    const verified = await verifySignedFile(file(), signature, [parsePublicKey(publicText)], 'archive');
    expect(verified).toEqual({ keyId: parsePublicKey(publicText).keyId, trustedComment: 'release 2.1.0', algorithm: 'prehashed' });
    await fs.appendFile(file(), 'x');
    await expectCode(() => verifySignedFile(file(), signature, [parsePublicKey(publicText)], 'archive'), 'SIGNATURE_INVALID');
  });

  it('verifies legacy signatures by minisign', async () => {
    const { publicText } = await minisignKeyPair();
    expect((await runMinisign(['-S', '-l', '-s', path.join(dir, 'm.key'), '-m', file()])).status).toBe(0);
    const signature = parseSignature(await fs.readFile(`${file()}.minisig`, 'utf8'));
    expect(signature.algorithm).toBe('legacy');
    expect((await verifySignedFile(file(), signature, [parsePublicKey(publicText)], 'archive')).algorithm).toBe('legacy');
  });

  it('has minisign accept signatures made here', async () => {
    const key = generateSecretKey();
    await fs.writeFile(path.join(dir, 'ours.pub'), formatPublicKey(publicKeyOf(key)));
    for (const algorithm of ['prehashed', 'legacy'] as const) {
      await fs.writeFile(`${file()}.minisig`, formatSignature(await signFile(file(), key, { algorithm })));
      const run = await runMinisign(['-V', '-p', path.join(dir, 'ours.pub'), '-m', file()]);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain('Signature and comment signature verified');
    }
    await fs.appendFile(file(), 'x');
    expect((await runMinisign(['-V', '-p', path.join(dir, 'ours.pub'), '-m', file()])).status).not.toBe(0);
  });

  it('signs with an unencrypted minisign secret key', async () => {
    const { secretText } = await minisignKeyPair();
    const key = await decodeSecretKey(secretText, null, 'm.key');
    await fs.writeFile(`${file()}.minisig`, formatSignature(await signFile(file(), key)));
    expect((await runMinisign(['-V', '-p', path.join(dir, 'm.pub'), '-m', file()])).status).toBe(0);
  });

  it('decrypts an encrypted minisign secret key', async () => {
    // minisign -G reads the password and its repeat from standard input when that is not a terminal.
    const run = await runMinisign(['-G', '-p', path.join(dir, 'e.pub'), '-s', path.join(dir, 'e.key')], 'pass phrase\npass phrase\n');
    expect(run.status).toBe(0);
    const text = await fs.readFile(path.join(dir, 'e.key'), 'utf8');
    const key = await decodeSecretKey(text, 'pass phrase', 'e.key');
    expect(key.keyId).toBe(parsePublicKey(await fs.readFile(path.join(dir, 'e.pub'), 'utf8')).keyId);
    await fs.writeFile(`${file()}.minisig`, formatSignature(await signFile(file(), key)));
    expect((await runMinisign(['-V', '-p', path.join(dir, 'e.pub'), '-m', file()])).status).toBe(0);
  }, 120_000);

  it('has minisign sign with keys written here', async () => {
    const key = generateSecretKey();
    await fs.writeFile(path.join(dir, 'ours.pub'), formatPublicKey(publicKeyOf(key)));
    await fs.writeFile(path.join(dir, 'plain.key'), await encodeSecretKey(key, { password: null }));
    await fs.writeFile(path.join(dir, 'locked.key'), await encodeSecretKey(key, { password: 'pw', limits: FAST_LIMITS }));

    expect((await runMinisign(['-S', '-W', '-s', path.join(dir, 'plain.key'), '-m', file()])).status).toBe(0);
    expect((await verifySignedFile(file(), parseSignature(await fs.readFile(`${file()}.minisig`, 'utf8')), [publicKeyOf(key)], 'archive')).keyId).toBe(key.keyId);

    const wrong = await runMinisign(['-S', '-s', path.join(dir, 'locked.key'), '-m', file()], 'nope\n');
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain('Wrong password');
    expect((await runMinisign(['-S', '-s', path.join(dir, 'locked.key'), '-m', file()], 'pw\n')).status).toBe(0);
    expect((await runMinisign(['-V', '-p', path.join(dir, 'ours.pub'), '-m', file()])).status).toBe(0);
  });
});
