/**
 * infra/identifiers.ts: resident ID numbers (GB 11643-1999) and mainland mobile numbers.
 * The expected check characters are computed here from the ISO 7064 MOD 11-2 definition, not
 * from the module's weight table.
 */
import test from 'ava';
import {
  idNumberCheckDigit,
  InvalidIdentifier,
  InvalidUscc,
  isIdNumber,
  maskIdNumber,
  maskPhone,
  parseIdNumber,
  parsePhone,
  parseUscc,
  usccCheckCharacter,
  type IdentifierProblem,
} from '../../infra/identifiers.ts';

/**
 * ISO 7064 MOD 11-2: the 18 characters a1..a18 (X = 10) satisfy
 * sum(a_i * 2^(18-i)) ≡ 1 (mod 11). Returns the a18 that makes it true.
 */
function iso7064Check(first17: string): string {
  let sum = 0n;
  for (let i = 0; i < 17; i++) sum += BigInt(first17[i]!) * 2n ** BigInt(17 - i);
  for (let c = 0n; c <= 10n; c++) {
    if ((sum + c) % 11n === 1n) return c === 10n ? 'X' : String(c);
  }
  throw new Error('unreachable');
}

const complete = (first17: string) => first17 + iso7064Check(first17);

/** yyyymmdd of a UTC date shifted by `days` from today. */
function utcDate(days: number): string {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + days);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

function problemOf(fn: () => unknown): IdentifierProblem | 'no error' | 'other error' {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return err instanceof InvalidIdentifier ? err.problem : 'other error';
  }
}

test('the reference implementation of MOD 11-2 reproduces the example of the standard', (t) => {
  // GB 11643-1999 appendix example; guards the test's own reference function.
  t.is(iso7064Check('11010519491231002'), 'X');
  t.is(iso7064Check('44052418800101001'), '4');
});

const prefixes = [
  '11010519491231002', // check X
  '44010619900307123',
  '44030420010228456',
  '32010219851111001',
  '33010620000229789',
  '51010019991231000',
  '65010119000101007',
  '13010219700615888',
];

for (const first17 of prefixes) {
  test(`idNumberCheckDigit(${first17}) is the MOD 11-2 check character`, (t) => {
    t.is(idNumberCheckDigit(first17), iso7064Check(first17));
  });
}

test('the inputs cover every check character, X included', (t) => {
  const found = new Set<string>();
  for (let n = 0; found.size < 11 && n < 10_000; n++) {
    const first17 = `4401061990030${String(n).padStart(4, '0')}`;
    const check = iso7064Check(first17);
    found.add(check);
    t.is(idNumberCheckDigit(first17), check, first17);
  }
  t.is(found.size, 11);
  t.true(found.has('X'));
});

test('parseIdNumber accepts a valid number and returns it unchanged', (t) => {
  for (const first17 of prefixes) {
    const id = complete(first17);
    t.is(parseIdNumber(id), id);
    t.true(isIdNumber(id));
  }
});

test('parseIdNumber normalizes a lowercase x to X and trims spaces', (t) => {
  const id = complete('11010519491231002');
  t.true(id.endsWith('X'));
  t.is(parseIdNumber(id.toLowerCase()), id);
  t.is(parseIdNumber(`  ${id.slice(0, 17)}x \n`), id);
});

test('parseIdNumber refuses wrong length or characters with id_number_format', (t) => {
  const id = complete('44010619900307123');
  const bad = [
    '',
    id.slice(0, 17),
    id + '0',
    id.slice(0, 15), // the old 15-digit format is not accepted
    `${id.slice(0, 16)}X${id[17]}`, // X only in last position
    `${id.slice(0, 17)}Y`,
    `${id.slice(0, 6)} ${id.slice(6)}`.slice(0, 18),
    `${id.slice(0, 10)}-${id.slice(11)}`,
    '４４０１０６１９９００３０７１２３４', // full-width digits
  ];
  for (const input of bad)
    t.is(
      problemOf(() => parseIdNumber(input)),
      'id_number_format',
      JSON.stringify(input),
    );
  t.false(isIdNumber(id.slice(0, 17)));
});

test('parseIdNumber refuses a region code starting with 0 or 9 with id_number_region', (t) => {
  for (const region of ['010105', '910105', '000000', '999999']) {
    const id = complete(`${region}19900307123`);
    t.is(
      problemOf(() => parseIdNumber(id)),
      'id_number_region',
      id,
    );
  }
  // Every first digit 1-8 passes the region check.
  for (const first of '12345678')
    t.is(
      problemOf(() => parseIdNumber(complete(`${first}1010519900307123`))),
      'no error',
    );
});

test('parseIdNumber refuses impossible or out-of-range birth dates with id_number_birth_date', (t) => {
  const dates = [
    '19900230', // Feb 30
    '19900229', // 1990 is no leap year
    '19000229', // 1900 is no leap year
    '19901301', // month 13
    '19900001', // month 0
    '19900100', // day 0
    '19900431', // April 31
    '18991231', // before 1900
    '00000101',
    utcDate(2), // the day after tomorrow (UTC), certainly in the future
    utcDate(400), // next year
  ];
  for (const date of dates) {
    const id = complete(`440106${date}123`);
    t.is(
      problemOf(() => parseIdNumber(id)),
      'id_number_birth_date',
      id,
    );
  }
});

test('parseIdNumber accepts boundary birth dates', (t) => {
  for (const date of ['19000101', '20000229', '19960229', '19991231', utcDate(0)]) {
    const id = complete(`440106${date}123`);
    t.is(parseIdNumber(id), id);
  }
});

test('parseIdNumber refuses every wrong check character with id_number_check_digit', (t) => {
  for (const first17 of prefixes) {
    const right = iso7064Check(first17);
    for (const c of '0123456789X') {
      if (c === right) continue;
      t.is(
        problemOf(() => parseIdNumber(first17 + c)),
        'id_number_check_digit',
        first17 + c,
      );
    }
  }
});

test('parseIdNumber refuses a transposition of two digits with id_number_check_digit', (t) => {
  const id = complete('44010619900307123');
  const swapped = id.slice(0, 14) + id[15] + id[14] + id.slice(16);
  t.not(swapped, id);
  t.is(
    problemOf(() => parseIdNumber(swapped)),
    'id_number_check_digit',
  );
});

test('InvalidIdentifier carries the problem as its message and name', (t) => {
  const err = t.throws(() => parseIdNumber('123'), { instanceOf: InvalidIdentifier });
  t.is(err.problem, 'id_number_format');
  t.is(err.message, 'id_number_format');
  t.is(err.name, 'InvalidIdentifier');
});

test('parsePhone accepts 11-digit mobile numbers with or without +86 and separators', (t) => {
  const cases: [string, string][] = [
    ['13800138000', '13800138000'],
    ['+8613800138000', '13800138000'],
    ['008613800138000', '13800138000'],
    ['+86 138 0013 8000', '13800138000'],
    ['138-0013-8000', '13800138000'],
    [' 19912345678 ', '19912345678'],
    ['+86 15012345678', '15012345678'],
  ];
  for (const [input, expected] of cases) t.is(parsePhone(input), expected, input);
});

test('parsePhone refuses anything that is not a mainland mobile number with phone_format', (t) => {
  const bad = [
    '',
    '1380013800', // 10 digits
    '138001380001', // 12 digits
    '12800138000', // second digit 2
    '10800138000',
    '23800138000', // not starting with 1
    '8613800138000', // 86 without + or 00
    '+85213800138000', // Hong Kong prefix
    '1380013800a',
    '(+86)13800138000',
    '０１３８００１３８０００',
  ];
  for (const input of bad)
    t.is(
      problemOf(() => parsePhone(input)),
      'phone_format',
      JSON.stringify(input),
    );
});

test('maskIdNumber keeps only the first 3 and last 4 characters', (t) => {
  for (const first17 of prefixes) {
    const id = complete(first17);
    const masked = maskIdNumber(id);
    t.is(masked.length, 18);
    t.is(masked.slice(0, 3), id.slice(0, 3));
    t.is(masked.slice(14), id.slice(14));
    t.regex(masked.slice(3, 14), /^\*{11}$/);
    t.false(masked.includes(id.slice(6, 14)), 'birth date hidden');
  }
});

test('maskPhone keeps only the first 3 and last 4 digits', (t) => {
  const phone = '13812345678';
  const masked = maskPhone(phone);
  t.is(masked, '138****5678');
  t.false(masked.includes('1234'));
  t.is(masked.replace(/\D/g, '').length, 7);
});

test('parseUscc accepts published unified social credit codes and normalizes case', (t) => {
  for (const code of ['91350100M000100Y43', '91110000802100433B', '91440300708461136T']) t.is(parseUscc(code.toLowerCase()), code);
});

test('parseUscc refuses a wrong check character, naming the problem', (t) => {
  const err = t.throws(() => parseUscc('91350100M000100Y44'), { instanceOf: InvalidUscc });
  t.is(err?.problem, 'uscc_check_character');
});

test('parseUscc refuses bad shapes: length, forbidden letters (I, O, S, V, Z), bad registration authority', (t) => {
  for (const bad of ['91350100M000100Y4', '91350100M000100I43', '91350100M00O100Y43', '01350100M000100Y43', '9135010AM000100Y43']) {
    t.is(t.throws(() => parseUscc(bad), { instanceOf: InvalidUscc })?.problem, 'uscc_format', bad);
  }
});

test('usccCheckCharacter follows GB 32100: weights 3^i mod 31 and (31 - sum mod 31) mod 31', (t) => {
  const chars = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const body = '91440300708461136';
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += chars.indexOf(body[i]!) * (3 ** i % 31);
  t.is(usccCheckCharacter(body), chars[(31 - (sum % 31)) % 31]);
  t.is(usccCheckCharacter(body), 'T');
});
