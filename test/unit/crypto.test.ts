/**
 * infra/crypto.ts: field encryption (AES-256-GCM bound to its column), blind indexes, key
 * derivation and the master key.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlindIndex, deriveKey, FieldCipher, hmac, loadMasterKey, MASTER_KEY_ENV, randomToken, safeEqual } from '../../infra/crypto.ts';
import { ConfigurationError } from '../../infra/errors.ts';

const AAD = 'natural_persons.id_number';

function tamper(sealed: string, index: number): string {
  const [version, data] = sealed.split('.');
  const raw = Buffer.from(data!, 'base64url');
  raw[index] = raw[index]! ^ 0x01;
  return `${version}.${raw.toString('base64url')}`;
}

test('FieldCipher round-trips ASCII, Chinese text and the empty string', (t) => {
  const cipher = new FieldCipher(randomBytes(32));
  for (const plain of ['110105194912310029', '张三', '广东省广州市天河区 · 𠀀 emoji 🙂', '']) {
    const sealed = cipher.encrypt(plain, AAD);
    t.regex(sealed, /^v1\.[A-Za-z0-9_-]+$/);
    t.false(sealed.includes(plain) && plain.length > 0);
    t.is(cipher.decrypt(sealed, AAD), plain);
  }
});

test('FieldCipher ciphertext is IV (12) + body + tag (16) bytes', (t) => {
  const cipher = new FieldCipher(randomBytes(32));
  const plain = '张三';
  const raw = Buffer.from(cipher.encrypt(plain, AAD).split('.')[1]!, 'base64url');
  t.is(raw.length, 12 + Buffer.byteLength(plain) + 16);
});

test('FieldCipher uses a fresh IV for every encryption', (t) => {
  const cipher = new FieldCipher(randomBytes(32));
  const a = cipher.encrypt('13800138000', AAD);
  const b = cipher.encrypt('13800138000', AAD);
  t.not(a, b);
  const iv = (s: string) => Buffer.from(s.split('.')[1]!, 'base64url').subarray(0, 12).toString('hex');
  t.not(iv(a), iv(b));
  t.is(cipher.decrypt(a, AAD), cipher.decrypt(b, AAD));
});

test('FieldCipher refuses a ciphertext moved to another column (other AAD)', (t) => {
  const cipher = new FieldCipher(randomBytes(32));
  const sealed = cipher.encrypt('13800138000', 'natural_persons.phone');
  t.throws(() => cipher.decrypt(sealed, 'persons.phone'));
  t.throws(() => cipher.decrypt(sealed, ''));
});

test('FieldCipher refuses a ciphertext under another key', (t) => {
  const sealed = new FieldCipher(randomBytes(32)).encrypt('secret', AAD);
  t.throws(() => new FieldCipher(randomBytes(32)).decrypt(sealed, AAD));
});

test('FieldCipher refuses a ciphertext with any single byte changed (IV, body or tag)', (t) => {
  const cipher = new FieldCipher(randomBytes(32));
  const sealed = cipher.encrypt('身份证号码 110105194912310029', AAD);
  const length = Buffer.from(sealed.split('.')[1]!, 'base64url').length;
  for (const index of [0, 11, 12, 13, length - 17, length - 16, length - 1]) {
    t.throws(() => cipher.decrypt(tamper(sealed, index), AAD), undefined, `byte ${index}`);
  }
});

test('FieldCipher refuses malformed or truncated ciphertexts', (t) => {
  const cipher = new FieldCipher(randomBytes(32));
  const sealed = cipher.encrypt('abc', AAD);
  t.throws(() => cipher.decrypt(sealed.replace(/^v1\./, 'v2.'), AAD), { message: /unknown ciphertext format/ });
  t.throws(() => cipher.decrypt('v1.', AAD), { message: /unknown ciphertext format/ });
  t.throws(() => cipher.decrypt('plaintext', AAD), { message: /unknown ciphertext format/ });
  t.throws(() => cipher.decrypt(sealed.slice(0, -4), AAD));
});

test('FieldCipher needs a 256-bit key', (t) => {
  t.throws(() => new FieldCipher(randomBytes(16)), { message: /256-bit/ });
  t.throws(() => new FieldCipher(randomBytes(33)), { message: /256-bit/ });
});

test('BlindIndex is deterministic for one key, kind and value', (t) => {
  const key = randomBytes(32);
  const a = new BlindIndex(key).of('id_number', '11010519491231002X');
  t.is(new BlindIndex(Buffer.from(key)).of('id_number', '11010519491231002X'), a);
  t.regex(a, /^[A-Za-z0-9_-]{43}$/);
  t.not(a, '11010519491231002X');
});

test('BlindIndex differs per kind, per value and per key', (t) => {
  const key = randomBytes(32);
  const index = new BlindIndex(key);
  const value = '13800138000';
  t.not(index.of('phone', value), index.of('id_number', value));
  t.not(index.of('phone', value), index.of('phone', '13800138001'));
  t.not(index.of('phone', value), new BlindIndex(randomBytes(32)).of('phone', value));
  // The separator keeps kind and value apart: ("ab", "c") is not ("a", "bc").
  t.not(index.of('ab', 'c'), index.of('a', 'bc'));
});

test('deriveKey separates contexts and purposes and is deterministic', (t) => {
  const master = randomBytes(32);
  const gdField = deriveKey(master, 'gd', 'field');
  t.is(gdField.length, 32);
  t.deepEqual(deriveKey(master, 'gd', 'field'), gdField);
  t.notDeepEqual(deriveKey(master, 'gz', 'field'), gdField);
  t.notDeepEqual(deriveKey(master, 'gd', 'index'), gdField);
  t.notDeepEqual(deriveKey(randomBytes(32), 'gd', 'field'), gdField);
  t.notDeepEqual(gdField, master);
  t.is(deriveKey(master, 'gd', 'field', 64).length, 64);
  t.deepEqual(deriveKey(master, 'gd', 'field', 64).subarray(0, 32), gdField);
});

test("keys derived for two entities do not open each other's ciphertexts", (t) => {
  const master = randomBytes(32);
  const sealed = new FieldCipher(deriveKey(master, 'gd', 'field')).encrypt('张三', AAD);
  t.is(new FieldCipher(deriveKey(master, 'gd', 'field')).decrypt(sealed, AAD), '张三');
  t.throws(() => new FieldCipher(deriveKey(master, 'gz', 'field')).decrypt(sealed, AAD));
});

test('safeEqual, hmac and randomToken', (t) => {
  t.true(safeEqual('abc', 'abc'));
  t.false(safeEqual('abc', 'abd'));
  t.false(safeEqual('abc', 'abcd'));
  const key = randomBytes(32);
  t.is(hmac(key, 'x'), hmac(key, 'x'));
  t.not(hmac(key, 'x'), hmac(randomBytes(32), 'x'));
  t.regex(randomToken(), /^[A-Za-z0-9_-]{43}$/);
  t.not(randomToken(), randomToken());
  t.is(Buffer.from(randomToken(16), 'base64url').length, 16);
});

// --- loadMasterKey: these change process.env, so they run serially and restore it.

function withMasterKeyEnv<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env[MASTER_KEY_ENV];
  if (value === undefined) delete process.env[MASTER_KEY_ENV];
  else process.env[MASTER_KEY_ENV] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env[MASTER_KEY_ENV];
    else process.env[MASTER_KEY_ENV] = saved;
  }
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gov-id-unit-crypto-'));
  tempDirs.push(dir);
  return dir;
}
test.after.always(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

test.serial('loadMasterKey creates a 32-byte key in an owner-only (0600) file and returns it again', (t) => {
  const dataDir = join(tempDir(), 'nested', 'data');
  withMasterKeyEnv(undefined, () => {
    const first = loadMasterKey(dataDir);
    t.is(first.length, 32);
    const file = join(dataDir, 'master.key');
    t.true(existsSync(file));
    t.is(statSync(file).mode & 0o777, 0o600);
    t.deepEqual(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url'), first);
    t.deepEqual(loadMasterKey(dataDir), first);
    t.notDeepEqual(loadMasterKey(tempDir()), first, 'another data folder gets another key');
  });
});

test.serial('loadMasterKey restricts an existing key file to the owner', (t) => {
  const dataDir = tempDir();
  const key = randomBytes(32);
  const file = join(dataDir, 'master.key');
  writeFileSync(file, key.toString('hex') + '\n', { mode: 0o644 });
  chmodSync(file, 0o644);
  withMasterKeyEnv(undefined, () => {
    t.deepEqual(loadMasterKey(dataDir), key);
  });
  t.is(statSync(file).mode & 0o777, 0o600);
});

test.serial('loadMasterKey refuses a key file of the wrong length, naming the file', (t) => {
  const dataDir = tempDir();
  const file = join(dataDir, 'master.key');
  writeFileSync(file, randomBytes(16).toString('base64url'), { mode: 0o600 });
  withMasterKeyEnv(undefined, () => {
    const err = t.throws(() => loadMasterKey(dataDir), { instanceOf: ConfigurationError });
    t.is(err.path, file);
  });
});

test.serial('loadMasterKey honours GOV_ID_MASTER_KEY in hex (either case) and writes no file', (t) => {
  const dataDir = tempDir();
  const key = randomBytes(32);
  withMasterKeyEnv(key.toString('hex'), () => t.deepEqual(loadMasterKey(dataDir), key));
  withMasterKeyEnv(key.toString('hex').toUpperCase(), () => t.deepEqual(loadMasterKey(dataDir), key));
  withMasterKeyEnv(`  ${key.toString('hex')}\n`, () => t.deepEqual(loadMasterKey(dataDir), key));
  t.false(existsSync(join(dataDir, 'master.key')));
});

test.serial('loadMasterKey honours GOV_ID_MASTER_KEY in base64url, ahead of an existing key file', (t) => {
  const dataDir = tempDir();
  const fileKey = withMasterKeyEnv(undefined, () => loadMasterKey(dataDir));
  const key = randomBytes(32);
  withMasterKeyEnv(key.toString('base64url'), () => {
    const loaded = loadMasterKey(dataDir);
    t.deepEqual(loaded, key);
    t.notDeepEqual(loaded, fileKey);
  });
});

test.serial('loadMasterKey refuses a GOV_ID_MASTER_KEY of the wrong length with ConfigurationError', (t) => {
  const dataDir = tempDir();
  const wrong = [
    randomBytes(31).toString('hex'),
    randomBytes(16).toString('base64url'),
    randomBytes(33).toString('base64url'),
    randomBytes(32).toString('hex') + '00',
    'not a key',
  ];
  for (const value of wrong) {
    withMasterKeyEnv(value, () => {
      const err = t.throws(() => loadMasterKey(dataDir), { instanceOf: ConfigurationError }, value);
      t.is(err.path, MASTER_KEY_ENV);
      t.regex(err.message, /32 bytes/);
    });
  }
  t.false(existsSync(join(dataDir, 'master.key')), 'a refused key does not fall back to a generated one');
});

test.serial('loadMasterKey restores the environment (helper self-check)', (t) => {
  const before = process.env[MASTER_KEY_ENV];
  withMasterKeyEnv(randomBytes(32).toString('hex'), () => t.truthy(process.env[MASTER_KEY_ENV]));
  t.is(process.env[MASTER_KEY_ENV], before);
});
