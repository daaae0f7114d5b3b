/**
 * What the fuzz harness sends, as fast-check arbitraries: a case is a compact plan (which
 * endpoint, which parameters broken how, which body, headers and method), drawn from a seed so
 * that a seed gives the same plans in the same order; `materialize` turns a plan into the bytes
 * of one request against the live federation (its interaction, CSRF token and cookies).
 *
 * Every URL a plan can name is one of the federation's own or a closed loopback port, and every
 * generated string is kept from spelling `//`: nothing the server might fetch leaves the machine
 * (fuzz/loopback-guard.ts checks each request before it is sent).
 */
import fc from 'fast-check';
import { idNumberCheckDigit, usccCheckCharacter } from '../infra/identifiers.ts';
import type { Endpoint, Field } from './endpoints.ts';
import type { RawRequest } from './raw-http.ts';
import { jwtPlanArb, materializeJwt, type JwtPlan } from './jwts.ts';

// ---------------------------------------------------------------- values

/** Inputs that have broken parsers before: NUL, CRLF, lone surrogates, prototype keys, number edge cases. */
const HOSTILE = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '%00',
  '\r\n',
  'a\r\nSet-Cookie: x=1',
  '\n',
  '\t',
  '%',
  '%zz',
  '%C3%28',
  '\uFFFD',
  '\uD800',
  '\uDFFFa',
  '😀',
  '𠮷',
  '\u202E',
  '\u200B',
  '\uFEFF',
  '<script>alert(1)</script>',
  '"',
  "'",
  '\\',
  '../../../etc/passwd',
  '..%2F..%2F',
  '/',
  'null',
  'undefined',
  'true',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '1e309',
  '9007199254740993',
  '0x1F',
  '[]',
  '{}',
  '[object Object]',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '${7*7}',
  '%s%s%s%n',
  "' OR '1'='1",
  'urn:ietf:params:oauth:request_uri:',
  'urn:ietf:params:oauth:grant-type:',
];

/** Single characters that break parsers and databases when slipped into an otherwise valid value. */
const INJECTED = [
  '\u0000',
  '\u0000',
  '\u0000',
  '\u0000',
  '\r\n',
  '\n',
  '\uD800',
  '\u00FF',
  '%',
  '%00',
  '\u202E',
  "'",
  '"',
  '<',
  '\\',
  '\uFFFF',
  '\u0001',
  ' ',
];

/** No generated text may spell `//` (so no absolute URL to another host is ever formed). */
const noDoubleSlash = (s: string) => s.replace(/\/(?=\/)/g, '/_');

export type Value =
  | { t: 'base'; i: number }
  | { t: 'str'; s: string }
  /** The field's well-formed value with `s` slipped in at `at` (modulo its length). */
  | { t: 'inject'; s: string; at: number }
  | { t: 'repeat'; s: string; n: number }
  | { t: 'url'; i: number; prefix: string; suffix: string }
  | { t: 'id'; kind: 'id_number' | 'uscc' | 'phone'; digits: string; valid: boolean }
  | { t: 'jwt'; plan: JwtPlan }
  /** JSON bodies only: a value of another type than the string expected. */
  | { t: 'json'; v: unknown };

const URL_PREFIXES = ['', 'https', 'HTTP', 'http ', 'localhost'];
const URL_SUFFIXES = [
  '',
  '/',
  '/x',
  '?a=b',
  '#f',
  '/.well-known/openid-federation',
  '%00',
  '/..',
  ':99999',
  '.',
  ' ',
  '/callback',
  '/%2e%2e/',
];

const valueArb = (jwtWeight: number, json: boolean): fc.Arbitrary<Value> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.nat(20).map((i): Value => ({ t: 'base', i })) },
    { weight: 6, arbitrary: fc.constantFrom(...HOSTILE).map((s): Value => ({ t: 'str', s })) },
    { weight: 6, arbitrary: fc.record({ s: fc.constantFrom(...INJECTED), at: fc.nat(64) }).map((r): Value => ({ t: 'inject', ...r })) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s): Value => ({ t: 'str', s: noDoubleSlash(s) })) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }).map((s): Value => ({ t: 'str', s: noDoubleSlash(s) })) },
    {
      weight: 1,
      arbitrary: fc
        .record({ s: fc.constantFrom('A', '\u0000', '%', '中', '😀', '\r\n', 'a&b=c'), n: fc.integer({ min: 256, max: 70_000 }) })
        .map((r): Value => ({ t: 'repeat', ...r })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ i: fc.nat(30), prefix: fc.constantFrom(...URL_PREFIXES), suffix: fc.constantFrom(...URL_SUFFIXES) })
        .map((r): Value => ({ t: 'url', ...r })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          kind: fc.constantFrom('id_number' as const, 'uscc' as const, 'phone' as const),
          digits: fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 17, maxLength: 17 }),
          valid: fc.boolean(),
        })
        .map((r): Value => ({ t: 'id', ...r })),
    },
    { weight: jwtWeight, arbitrary: jwtPlanArb.map((plan): Value => ({ t: 'jwt', plan })) },
    { weight: json ? 3 : 0, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v): Value => ({ t: 'json', v })) },
  );

// ---------------------------------------------------------------- encodings

/** How a value is written into a URL or a form: properly, raw, twice, or with broken escapes. */
export type Encoding = 'plain' | 'raw' | 'double' | 'truncated-percent' | 'invalid-utf8' | 'overlong' | 'plus';

const encodingArb: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Encoding>('plain') },
  { weight: 1, arbitrary: fc.constantFrom<Encoding>('raw', 'double', 'truncated-percent', 'invalid-utf8', 'overlong', 'plus') },
);

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Percent-encodes the UTF-8 bytes (lone surrogates become U+FFFD, as a browser would send them). */
function percent(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += UNRESERVED.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The value as it goes on the wire in a query or form (latin1: one char per byte). */
function encodeValue(value: string, encoding: Encoding): string {
  const utf8 = Buffer.from(value, 'utf8');
  switch (encoding) {
    case 'plain':
      return percent(utf8);
    case 'raw':
      return utf8.toString('latin1');
    case 'double':
      return percent(Buffer.from(percent(utf8), 'latin1'));
    case 'truncated-percent':
      return `${percent(utf8)}%E4%B8`;
    case 'invalid-utf8':
      return `${percent(utf8)}%FF%FE%C3%28%ED%A0%80`;
    case 'overlong':
      return `%C0%AE%C0%AE%C0%AF${percent(utf8)}`;
    case 'plus':
      return percent(utf8).replace(/%20/g, '+').concat('+%2B+');
  }
}

// ---------------------------------------------------------------- cases

export interface FieldPlan {
  /** Index into the endpoint's fields; beyond them, an extra name from EXTRA_NAMES. */
  field: number;
  /** Whether this case breaks the field; an unbroken field keeps its profile's value, or one of its well-formed values. */
  mutated: boolean;
  /** Which well-formed value (modulo their number). */
  base: number;
  omit: boolean;
  value: Value | null;
  encoding: Encoding;
  duplicate: boolean;
}

const EXTRA_NAMES = [
  '__proto__',
  'constructor',
  '',
  'a[b]',
  'a[]',
  'a.b',
  'x\u0000',
  '中文',
  'csrf',
  'lang',
  'client_id',
  'request',
  'registration',
  'state',
];

export type BodyShape =
  | { t: 'fields' }
  | { t: 'text'; text: string }
  | { t: 'deep'; open: '[' | '{"a":' | 'a[a]'; n: number }
  | { t: 'huge'; n: number; json: boolean }
  | { t: 'bytes'; bytes: number[] };

const MALFORMED_JSON = [
  '[1,]',
  '"str"',
  '{"a":NaN}',
  '{"__proto__":{"x":1}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '{',
  '}',
  '',
  'null',
  '1',
  'true',
  '[]',
  '[{}]',
  '{"a":1,"a":2}',
  "{'a':1}",
  '{"a":undefined}',
  '\uFEFF{}',
  '{"a":"\\ud800"}',
  '{"a":1}garbage',
  '{"a":"\u0000"}',
  '{"name":"a\\u0000b"}',
  '{"logout_token":["x"]}',
  '{"csrf":{"a":1}}',
  'a=1&a=2',
  '-',
  '{"a":1e999999}',
];

const bodyShapeArb: fc.Arbitrary<BodyShape> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...MALFORMED_JSON).map((text): BodyShape => ({ t: 'text', text })) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }).map((text): BodyShape => ({ t: 'text', text })) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((text): BodyShape => ({ t: 'text', text: noDoubleSlash(text) })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ open: fc.constantFrom('[' as const, '{"a":' as const, 'a[a]' as const), n: fc.integer({ min: 32, max: 12_000 }) })
      .map((r): BodyShape => ({ t: 'deep', ...r })),
  },
  {
    weight: 1,
    arbitrary: fc.record({ n: fc.integer({ min: 16_000, max: 300_000 }), json: fc.boolean() }).map((r): BodyShape => ({ t: 'huge', ...r })),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 48 })
      .map((bytes): BodyShape => ({ t: 'bytes', bytes })),
  },
);

const CONTENT_TYPES = [
  null,
  '',
  'application/x-www-form-urlencoded',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/x-www-form-urlencoded; charset=utf-7',
  'application/jwt',
  'application/xml',
  'a/b/c',
  ';',
  'application/json, application/x-www-form-urlencoded',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/csp-report',
];

/** Extra header lines: CRLF and NUL in values, oversize values, duplicates, hostile locale and origin hints. */
export type HeaderPlan = { name: string; value: Value | { t: 'literal'; s: string } };
const headerArb: fc.Arbitrary<HeaderPlan> = fc.oneof(
  fc.constantFrom<HeaderPlan>(
    { name: 'X-Fuzz', value: { t: 'literal', s: 'a\r\nX-Injected: 1' } },
    { name: 'X-Fuzz', value: { t: 'literal', s: 'a\rb' } },
    { name: 'X-Fuzz', value: { t: 'literal', s: 'a\nb' } },
    { name: 'X-Fuzz', value: { t: 'literal', s: 'a\u0000b' } },
    { name: 'X-Fuzz\r\n', value: { t: 'literal', s: 'x' } },
    { name: 'X Fuzz', value: { t: 'literal', s: 'x' } },
    { name: 'Content-Length', value: { t: 'literal', s: '0' } },
    { name: 'Content-Length', value: { t: 'literal', s: '-1' } },
    { name: 'Host', value: { t: 'literal', s: '127.0.0.1:1' } },
    { name: 'Cookie', value: { t: 'literal', s: '=; ;;a=\u00ff; _session=x; _session=y' } },
    { name: 'Accept-Language', value: { t: 'literal', s: 'en;q=abc, *;q=-1, zh-CN;q=1e9, \u00ff' } },
    { name: 'Origin', value: { t: 'literal', s: 'null' } },
    { name: 'Sec-Fetch-Site', value: { t: 'literal', s: 'same-origin' } },
    { name: 'X-Forwarded-For', value: { t: 'literal', s: '1.2.3.4, ::1, x' } },
    { name: 'X-Forwarded-Proto', value: { t: 'literal', s: 'https' } },
    { name: 'Content-Encoding', value: { t: 'literal', s: 'gzip' } },
    { name: 'Content-Encoding', value: { t: 'literal', s: 'br, deflate, x' } },
  ),
  fc
    .record({
      name: fc.constantFrom(
        'Accept-Language',
        'Cookie',
        'Origin',
        'Sec-Fetch-Site',
        'X-Forwarded-For',
        'Authorization',
        'DPoP',
        'Referer',
        'If-None-Match',
        'Range',
      ),
      value: valueArb(1, false),
    })
    .map((r): HeaderPlan => r),
);

export type AuthorizationPlan =
  { t: 'bearer-jwt'; plan: JwtPlan } | { t: 'literal'; s: string } | { t: 'basic'; user: Value; password: Value };
const authorizationArb: fc.Arbitrary<AuthorizationPlan> = fc.oneof(
  { weight: 4, arbitrary: jwtPlanArb.map((plan): AuthorizationPlan => ({ t: 'bearer-jwt', plan })) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        'Bearer',
        'Bearer ',
        'Bearer  x',
        'Bearer a\u0000',
        'Basic',
        'Basic !!!',
        'Basic Og==',
        'Basic YTpiOmM=',
        'DPoP x',
        'Negotiate x',
        'bearer x',
        'Bearer x, Bearer y',
      )
      .map((s): AuthorizationPlan => ({ t: 'literal', s })),
  },
  {
    weight: 2,
    arbitrary: fc.record({ user: valueArb(0, false), password: valueArb(0, false) }).map((r): AuthorizationPlan => ({ t: 'basic', ...r })),
  },
);

export type SessionPlan = {
  csrf: 'valid' | 'missing' | 'wrong' | 'duplicated' | 'hostile';
  cookies: boolean;
  uid: 'live' | 'hostile' | 'stale';
};
const sessionArb: fc.Arbitrary<SessionPlan> = fc.record({
  csrf: fc.oneof(
    { weight: 6, arbitrary: fc.constant('valid' as const) },
    { weight: 1, arbitrary: fc.constantFrom('missing' as const, 'wrong' as const, 'duplicated' as const, 'hostile' as const) },
  ),
  cookies: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  uid: fc.oneof(
    { weight: 8, arbitrary: fc.constant('live' as const) },
    { weight: 1, arbitrary: fc.constantFrom('hostile' as const, 'stale' as const) },
  ),
});

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'get', 'FOO', 'POST /x'];

export type TargetPlan = { t: 'path'; prefix: string; suffix: string } | { t: 'long-query'; n: number } | { t: 'absolute' } | { t: 'star' };
const targetArb: fc.Arbitrary<TargetPlan> = fc.oneof(
  fc
    .record({
      prefix: fc.constantFrom('', '/', '//', '/.', '/%2e', '/x/..'),
      suffix: fc.constantFrom('', '/', '//', ';x', '%00', '%2f', '.json', '/..', '?', '??', '?&&=&', '#f', '%', '%zz', '\u00ff'),
    })
    .map((r): TargetPlan => ({ t: 'path', ...r })),
  fc.integer({ min: 2_000, max: 70_000 }).map((n): TargetPlan => ({ t: 'long-query', n })),
  fc.constantFrom<TargetPlan>({ t: 'absolute' }, { t: 'star' }),
);

export interface Case {
  endpoint: number;
  /** Which of the endpoint's coherent parameter sets the case starts from (modulo their number). */
  profile: number;
  /** The family of mutations this case stresses (for the summary). */
  family: 'parameters' | 'body' | 'headers' | 'method' | 'target';
  fields: FieldPlan[];
  body: BodyShape;
  contentType: string | null | 'declared';
  headers: HeaderPlan[];
  authorization: AuthorizationPlan | null;
  session: SessionPlan;
  method: string | null;
  target: TargetPlan | null;
}

const fieldPlansArb = (endpoint: Endpoint, mutated: boolean, profile: Record<string, string> | undefined): fc.Arbitrary<FieldPlan[]> => {
  const json = endpoint.body === 'json';
  const jwtHeavy = (f: Field | undefined) => (f?.jwt ? 6 : 1);
  const plan = (i: number) =>
    fc.record({
      field: fc.constant(i),
      mutated: fc.constant(true),
      base: fc.nat(20),
      omit: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      value: fc.option(valueArb(jwtHeavy(endpoint.fields[i]), json), { freq: 6 }),
      encoding: encodingArb,
      duplicate: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    });
  const n = endpoint.fields.length;
  const unbroken = fc.tuple(...endpoint.fields.map(() => fc.nat(20))).map((bases) =>
    bases.map((base, i): FieldPlan => ({
      field: i,
      mutated: false,
      base,
      omit: false,
      value: null,
      encoding: 'plain',
      duplicate: false,
    })),
  );
  if (!mutated) return unbroken;
  // Mostly fields of the profile (those the server reads on this path), sometimes any; a few unknown ones besides.
  const inProfile = endpoint.fields.flatMap((f, i) => (profile && Object.hasOwn(profile, f.name) ? [i] : []));
  const indexArb = inProfile.length
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...inProfile) }, { weight: 1, arbitrary: fc.nat(n - 1) })
    : fc.nat(Math.max(0, n - 1));
  return fc
    .tuple(
      unbroken,
      fc.array(indexArb, { minLength: n ? 1 : 0, maxLength: Math.min(n, 3) }),
      fc.array(fc.nat(EXTRA_NAMES.length - 1), { maxLength: 2 }),
    )
    .chain(([all, own, extra]) =>
      fc.tuple(...[...new Set(own)].map(plan), ...extra.map((x) => plan(n + x))).map((plans) => {
        const chosen = new Map(plans.map((p) => [p.field, p]));
        return [...all.map((p) => chosen.get(p.field) ?? p), ...plans.filter((p) => p.field >= n)];
      }),
    );
};

/** The cases of a campaign over `endpoints`: one family of mutations per case, the rest of the request well-formed. */
export function caseArb(endpoints: Endpoint[]): fc.Arbitrary<Case> {
  return fc.tuple(fc.nat(endpoints.length - 1), fc.nat(15)).chain(([index, profileIndex]) => {
    const endpoint = endpoints[index]!;
    const profile = endpoint.profiles?.[profileIndex % endpoint.profiles.length];
    const base = {
      endpoint: fc.constant(index),
      profile: fc.constant(profileIndex),
      session: sessionArb,
      headers: fc.constant([] as HeaderPlan[]),
      authorization: fc.constant(null),
      method: fc.constant(null),
      target: fc.constant(null),
    };
    const wellFormed = {
      fields: fieldPlansArb(endpoint, false, profile),
      body: fc.constant<BodyShape>({ t: 'fields' }),
      contentType: fc.constant<'declared'>('declared'),
    };
    return fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          ...base,
          ...wellFormed,
          family: fc.constant('parameters' as const),
          fields: fieldPlansArb(endpoint, true, profile),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          ...base,
          ...wellFormed,
          family: fc.constant('body' as const),
          method: fc.constant(endpoint.method === 'GET' ? 'POST' : null),
          body: bodyShapeArb,
          contentType: fc.oneof(
            { weight: 3, arbitrary: fc.constant('application/json') },
            { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
            { weight: 1, arbitrary: fc.constant<'declared'>('declared') },
          ),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          ...base,
          ...wellFormed,
          family: fc.constant('headers' as const),
          headers: fc.array(headerArb, { minLength: 0, maxLength: 3 }),
          authorization: fc.option(authorizationArb, { freq: 4 }),
          contentType: fc.oneof(
            { weight: 3, arbitrary: fc.constant<'declared'>('declared') },
            { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
          ),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ ...base, ...wellFormed, family: fc.constant('method' as const), method: fc.constantFrom(...METHODS) }),
      },
      { weight: 1, arbitrary: fc.record({ ...base, ...wellFormed, family: fc.constant('target' as const), target: targetArb }) },
    );
  });
}

// ---------------------------------------------------------------- materializing

/** What the live federation gives a case: the browser state its endpoint needs, if it has any. */
export interface LiveState {
  cookie: string;
  csrf: string;
  uid?: string;
}

function idValue(kind: 'id_number' | 'uscc' | 'phone', digits: string, valid: boolean): string {
  if (kind === 'phone') return `1${digits.slice(0, 10)}`;
  if (kind === 'uscc')
    return valid ? `9144${digits.slice(0, 13)}${usccCheckCharacter(`9144${digits.slice(0, 13)}`)}` : `9144${digits.slice(0, 14)}`;
  // Birth dates of 1990 keep most ID numbers plausible; invalid ones keep a wrong check digit.
  const first17 = `440106199${digits.slice(0, 1)}0${(Number(digits[1]) % 9) + 1}1${digits.slice(2, 3)}${digits.slice(3, 6)}`;
  const check = idNumberCheckDigit(first17);
  return first17 + (valid ? check : check === '0' ? '1' : '0');
}

/** A value as text (or, for JSON type confusion, any JSON value); `baseline` is the field's unbroken value. */
async function valueText(
  v: Value | null,
  field: Field | undefined,
  urls: string[],
  audience: string,
  baseline = 'x',
): Promise<string | unknown> {
  if (!v) return baseline;
  switch (v.t) {
    case 'base':
      return field?.base.length ? field.base[v.i % field.base.length]! : 'x';
    case 'str':
      return v.s;
    case 'inject': {
      const at = v.at % (baseline.length + 1);
      return baseline.slice(0, at) + v.s + baseline.slice(at);
    }
    case 'repeat':
      return v.s.repeat(Math.ceil(v.n / v.s.length));
    case 'url': {
      const u = urls[v.i % urls.length]!;
      const withPrefix = v.prefix === 'localhost' ? u.replace('127.0.0.1', 'localhost') : v.prefix ? u.replace(/^http/, v.prefix) : u;
      return withPrefix + v.suffix;
    }
    case 'id':
      return idValue(v.kind, v.digits, v.valid);
    case 'jwt':
      return materializeJwt(v.plan, urls, audience);
    case 'json':
      return v.v;
  }
}

function fieldName(endpoint: Endpoint, plan: FieldPlan): string {
  return endpoint.fields[plan.field]?.name ?? EXTRA_NAMES[plan.field - endpoint.fields.length]!;
}

const asText = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

/** A JSON object written by hand, so that a duplicated field stays duplicated. */
function jsonText(parts: { name: string; value: unknown }[]): string {
  return `{${parts.map((p) => `${JSON.stringify(p.name)}:${JSON.stringify(p.value) ?? 'null'}`).join(',')}}`;
}

function bodyOf(shape: BodyShape, endpoint: Endpoint, form: string, parts: { name: string; value: unknown }[]): Buffer {
  switch (shape.t) {
    case 'fields':
      return endpoint.body === 'json' ? Buffer.from(jsonText(parts), 'utf8') : Buffer.from(form, 'latin1');
    case 'text':
      return Buffer.from(shape.text, 'utf8');
    case 'deep':
      if (shape.open === 'a[a]') return Buffer.from(`a${'[a]'.repeat(shape.n)}=1`, 'latin1');
      return Buffer.from(
        shape.open.repeat(shape.n) + (shape.open === '[' ? '' : '1') + (shape.open === '[' ? ']' : '}').repeat(shape.n),
        'latin1',
      );
    case 'huge':
      return Buffer.from(shape.json ? `{"a":"${'A'.repeat(shape.n)}"}` : `a=${'A'.repeat(shape.n)}`, 'latin1');
    case 'bytes':
      return Buffer.from(shape.bytes);
  }
}

/** The request a case stands for, against the live federation; `live` is null when the endpoint needs no browser state. */
export async function materialize(c: Case, endpoint: Endpoint, urls: string[], live: LiveState | null): Promise<RawRequest> {
  const audience = endpoint.origin + endpoint.path.replace(/\/:.*$/, '');
  const parts: { name: string; value: unknown; encoding: Encoding }[] = [];
  let path = endpoint.path;
  const method = c.method ?? endpoint.method;
  const inQuery = endpoint.body === 'none' || method === 'GET';
  const profile = endpoint.profiles?.[c.profile % endpoint.profiles.length];
  for (const plan of c.fields) {
    const field = endpoint.fields[plan.field];
    const name = fieldName(endpoint, plan);
    if (plan.omit) continue;
    // A profile names the parameters of one coherent request: the others are left out unless broken.
    const inProfile = profile !== undefined && Object.hasOwn(profile, name);
    if (profile && field?.in !== 'path' && !plan.mutated && !inProfile) continue;
    const baseline = inProfile ? profile[name]! : field?.base.length ? field.base[plan.base % field.base.length]! : 'x';
    let value = await valueText(plan.value, field, urls, audience, baseline);
    if (field?.in === 'path') {
      if (name === 'uid' && live?.uid && c.session.uid === 'live' && plan.value === null) value = live.uid;
      if (name === 'uid' && c.session.uid === 'stale') value = 'Fuzz0000000000000000000000000000000000000000';
      path = path.replace(`:${name}`, encodeValue(asText(value), plan.encoding));
      continue;
    }
    let copies = plan.duplicate ? 2 : 1;
    if ((name === 'csrf' || name === 'xsrf') && live && plan.value === null) {
      if (c.session.csrf === 'missing') continue;
      value = { valid: live.csrf, wrong: 'A'.repeat(live.csrf.length || 43), duplicated: live.csrf, hostile: '\u0000' }[c.session.csrf];
      if (c.session.csrf === 'duplicated') copies = 2;
    }
    for (let i = 0; i < copies; i++) parts.push({ name, value, encoding: plan.encoding });
  }
  const urlEncoded = parts.map((p) => `${encodeValue(p.name, 'plain')}=${encodeValue(asText(p.value), p.encoding)}`).join('&');
  const query = inQuery && urlEncoded ? `?${urlEncoded}` : '';
  let target = path + query;
  if (c.target) {
    if (c.target.t === 'path') target = c.target.prefix + (c.target.prefix ? path.slice(1) : path) + c.target.suffix + query;
    else if (c.target.t === 'long-query') target = `${target}${query ? '&' : '?'}pad=${'a'.repeat(c.target.n)}`;
    else if (c.target.t === 'absolute') target = endpoint.origin + target;
    else target = '*';
  }
  const headers: [string, string][] = [];
  const withBody = !inQuery || c.body.t !== 'fields';
  const declaredType = endpoint.body === 'json' ? 'application/json' : 'application/x-www-form-urlencoded';
  const contentType = c.contentType === 'declared' ? (withBody ? declaredType : null) : c.contentType;
  if (contentType !== null) headers.push(['Content-Type', contentType]);
  if (live && c.session.cookies && live.cookie) headers.push(['Cookie', live.cookie]);
  if (endpoint.session === 'interaction' || endpoint.session === 'portal')
    headers.push(['Origin', 'null'], ['Sec-Fetch-Site', 'same-origin']);
  if (c.authorization) headers.push(['Authorization', await authorizationText(c.authorization, urls, audience)]);
  for (const h of c.headers) {
    const v = h.value.t === 'literal' ? h.value.s : await valueText(h.value, undefined, urls, audience);
    headers.push([h.name, Buffer.from(asText(v), 'utf8').toString('latin1')]);
  }
  return { method, target, headers, ...(withBody ? { body: bodyOf(c.body, endpoint, urlEncoded, parts) } : {}) };
}

async function authorizationText(a: AuthorizationPlan, urls: string[], audience: string): Promise<string> {
  if (a.t === 'literal') return a.s;
  if (a.t === 'bearer-jwt') return `Bearer ${await materializeJwt(a.plan, urls, audience)}`;
  const part = async (v: Value) => {
    return encodeValue(asText(await valueText(v, undefined, urls, audience)), 'plain');
  };
  return `Basic ${Buffer.from(`${await part(a.user)}:${await part(a.password)}`).toString('base64')}`;
}
