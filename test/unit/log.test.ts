/**
 * infra/log.ts: JSON lines with personal data and secrets removed. Output is captured by
 * replacing process.stdout.write / process.stderr.write around one synchronous logger call, so
 * tests running concurrently never see each other's lines.
 */
import test from 'ava';
import { createLogger, type Logger } from '../../infra/log.ts';

type Stream = 'stdout' | 'stderr';

/** Runs `fn` (synchronous) and returns what it wrote to each stream. */
function capture(fn: () => void): Record<Stream, string[]> {
  const out: Record<Stream, string[]> = { stdout: [], stderr: [] };
  const saved = { stdout: process.stdout.write, stderr: process.stderr.write };
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].write = ((chunk: string | Uint8Array) => {
      out[name].push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write;
  }
  try {
    fn();
  } finally {
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
  }
  return out;
}

/** The one JSON line `fn` wrote to stdout, parsed, and its raw text. */
function line(fn: () => void): { entry: Record<string, unknown>; raw: string } {
  const { stdout, stderr } = capture(fn);
  if (stdout.length !== 1 || stderr.length !== 0) throw new Error(`expected one stdout line, got ${JSON.stringify({ stdout, stderr })}`);
  const raw = stdout[0]!;
  if (!raw.endsWith('\n')) throw new Error('a line ends with a newline');
  return { entry: JSON.parse(raw) as Record<string, unknown>, raw };
}

const ID = '11010519491231002X';
const ID_DIGITS = '440524188001010014';
const PHONE = '13812345678';

function assertClean(t: { false(v: boolean, m?: string): void }, raw: string) {
  for (const secret of [ID, ID.toLowerCase(), ID_DIGITS, PHONE]) t.false(raw.includes(secret), `line leaks ${secret}: ${raw}`);
}

test('a line is JSON with time, level, message and fields', (t) => {
  const log = createLogger({ entity: 'gd' }, 'info');
  const { entry } = line(() => log.info('started', { port: 7100 }));
  t.is(entry.level, 'info');
  t.is(entry.msg, 'started');
  t.is(entry.entity, 'gd');
  t.is(entry.port, 7100);
  t.false(Number.isNaN(Date.parse(String(entry.t))));
});

test('an ID number and a phone inside the message are replaced', (t) => {
  const log = createLogger({}, 'info');
  const { entry, raw } = line(() =>
    log.info(`registration of ${ID} with phone ${PHONE} refused; also ${ID.toLowerCase()} and ${ID_DIGITS}`),
  );
  t.is(entry.msg, 'registration of [id] with phone [phone] refused; also [id] and [id]');
  assertClean(t, raw);
});

test('an ID number and a phone next to Chinese text are replaced', (t) => {
  const log = createLogger({}, 'info');
  const { entry, raw } = line(() => log.info(`身份证${ID_DIGITS}手机${PHONE}已注册`));
  t.is(entry.msg, '身份证[id]手机[phone]已注册');
  assertClean(t, raw);
});

test('an ID number and a phone inside field values are replaced, also nested and in arrays', (t) => {
  const log = createLogger({}, 'info');
  const { entry, raw } = line(() =>
    log.info('lookup', { query: `id=${ID}`, who: { contact: `tel:${PHONE}`, list: [ID_DIGITS, 'ok'] }, count: 2 }),
  );
  t.is(entry.query, 'id=[id]');
  t.deepEqual(entry.who, { contact: 'tel:[phone]', list: ['[id]', 'ok'] });
  t.is(entry.count, 2);
  assertClean(t, raw);
});

test('digits that are not an ID number or a phone stay', (t) => {
  const log = createLogger({}, 'info');
  const { entry } = line(() => log.info('order 1234567890 at port 7100, code length 6, 12345678901', { n: '1381234567' }));
  t.is(entry.msg, 'order 1234567890 at port 7100, code length 6, 12345678901');
  t.is(entry.n, '1381234567');
});

test('fields named password, id_number, client_secret and other secrets are [redacted]', (t) => {
  const log = createLogger({}, 'info');
  const fields = {
    password: 'Secret-pass1',
    id_number: ID,
    idNumber: ID,
    client_secret: 'abc',
    clientSecret: 'abc',
    phone: PHONE,
    otp: '123456',
    code: 'auth-code',
    token: 't',
    refresh_token: 'r',
    Authorization: 'Basic xyz',
    cookie: 'c=1',
    code_verifier: 'v',
    uscc: '91350100M000100Y43',
    nested: { password: 'inner', keep: 'visible' },
  };
  const { entry, raw } = line(() => log.info('form', fields));
  for (const key of Object.keys(fields).filter((k) => k !== 'nested')) t.is(entry[key], '[redacted]', key);
  t.deepEqual(entry.nested, { password: '[redacted]', keep: 'visible' });
  for (const secret of ['Secret-pass1', 'auth-code', 'Basic xyz', 'inner']) t.false(raw.includes(secret), secret);
  assertClean(t, raw);
});

test('base fields of the logger and of a child are scrubbed too', (t) => {
  const log = createLogger({ password: 'base-secret', note: `for ${PHONE}` }, 'info');
  const child: Logger = log.child({ client_secret: 'child-secret', subject: 'sub-1' });
  const { entry, raw } = line(() => child.info('hello'));
  t.is(entry.password, '[redacted]');
  t.is(entry.client_secret, '[redacted]');
  t.is(entry.note, 'for [phone]');
  t.is(entry.subject, 'sub-1');
  t.false(raw.includes('base-secret'));
  t.false(raw.includes('child-secret'));
});

test('an Error field keeps its name and a scrubbed message', (t) => {
  const log = createLogger({}, 'info');
  const { entry } = line(() => log.info('failed', { err: new TypeError(`no person ${ID}`) }));
  const err = entry.err as Record<string, unknown>;
  t.is(err.name, 'TypeError');
  t.is(err.message, 'no person [id]');
});

test('an Error field does not leak the ID number through its stack', (t) => {
  const log = createLogger({}, 'info');
  const { raw } = line(() => log.info('failed', { err: new Error(`no person ${ID}`) }));
  assertClean(t, raw);
});

test('a phone written with +86 is replaced', (t) => {
  const log = createLogger({}, 'info');
  const { raw } = line(() => log.info(`sms to +86${PHONE}`));
  assertClean(t, raw);
});

test('an ID number or phone glued to a word is replaced', (t) => {
  const log = createLogger({}, 'info');
  const { raw } = line(() => log.info(`key user_${ID_DIGITS} and tel_${PHONE}`));
  assertClean(t, raw);
});

test('a deeply nested password and ID number are removed', (t) => {
  const log = createLogger({}, 'info');
  const { raw } = line(() => log.info('deep', { a: { b: { c: { d: { e: { password: 'deep-secret', v: ID } } } } } }));
  t.false(raw.includes('deep-secret'));
  assertClean(t, raw);
});

test('levels below the minimum are dropped; warn and error go to stderr', (t) => {
  const log = createLogger({}, 'warn');
  const quiet = capture(() => {
    log.debug('d');
    log.info('i');
  });
  t.deepEqual(quiet, { stdout: [], stderr: [] });
  const loud = capture(() => {
    log.warn(`w ${PHONE}`);
    log.error('e', { password: 'x' });
  });
  t.deepEqual(loud.stdout, []);
  t.is(loud.stderr.length, 2);
  const [w, e] = loud.stderr.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(w!.level, 'warn');
  t.is(w!.msg, 'w [phone]');
  t.is(e!.level, 'error');
  t.is(e!.password, '[redacted]');

  const debug = createLogger({}, 'debug');
  t.is(capture(() => debug.debug('visible')).stdout.length, 1);
});
