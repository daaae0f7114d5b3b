/**
 * The catalogue of what the fuzz harness sends requests to: every public endpoint of every
 * entity of a running federation, per entity kind, with the parameters each one reads and a few
 * well-formed values for them (which the mutations then break).
 *
 * Discovered, not assumed: the entities come from the topology (or, against a deployment, by
 * walking the federation from the target: authority hints up, subordinate lists down); an
 * entity's kind and endpoints from its entity configuration and, for an OP, its OpenID
 * discovery document. The routes no metadata names (interaction forms, account area, broker,
 * registry, portal pages, services APIs) are this project's own, at fixed paths.
 */
import { idNumberCheckDigit, usccCheckCharacter } from '../infra/identifiers.ts';

/** A case number of the right form (its check character right) and an item the demo catalog has. */
const CASE_NUMBER = 'GZ-20261204-000042-J';
const CASE_ITEM = '11440100000106040E3010106002000';

export type EntityKind = 'op' | 'portal' | 'services';

/** Where a request gets its live browser state from (fuzz/browser-sessions.ts). */
export type SessionNeed = 'interaction' | 'account' | 'portal';

export interface Field {
  name: string;
  /** Well-formed values; the first is the default. */
  base: string[];
  /** `path`: fills `:name` in the path; otherwise the query (GET) or the body. */
  in?: 'path';
  /** Whether this parameter carries a JWT where the server accepts one. */
  jwt?: boolean;
}

export interface Endpoint {
  /** The entity's label: its topology ID, or its host. */
  entity: string;
  kind: EntityKind;
  origin: string;
  method: 'GET' | 'POST';
  /** With `:name` placeholders for path fields; `:uid` is the live interaction. */
  path: string;
  body: 'form' | 'json' | 'none';
  fields: Field[];
  /** What the Authorization header carries when the server reads one. */
  authorization?: 'entity-assertion' | 'access-token' | 'admin' | 'client-basic';
  session?: SessionNeed;
  /**
   * Coherent parameter sets (one kind of request the endpoint serves, e.g. a refresh grant of a
   * public client), so that a case breaks one thing of a request that otherwise gets far.
   */
  profiles?: Record<string, string>[];
}

export interface DiscoveredEntity {
  label: string;
  url: string;
  kind: EntityKind;
  /** The entity configuration's payload. */
  configuration: Record<string, unknown>;
  /** An OP's discovery document. */
  discovery?: Record<string, unknown>;
}

export interface Catalogue {
  entities: DiscoveredEntity[];
  endpoints: Endpoint[];
  /** Every URL a generated value may name: the federation's own, plus closed loopback ports. */
  urls: string[];
  /** URLs that only name something and are never fetched: the trust mark types the federation issues. */
  names: string[];
}

/** A loopback address where nothing listens: ids pointing there fail fast, and nothing leaves the machine. */
export const CLOSED_LOOPBACK = 'http://127.0.0.1:9';

const ENTITY_CONFIGURATION = '/.well-known/openid-federation';
const MAX_ENTITIES = 64;

function decodeJwtPayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1];
  if (!part) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000), redirect: 'error' });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.text();
}

async function entityConfiguration(url: string): Promise<Record<string, unknown>> {
  return decodeJwtPayload(await fetchText(url + ENTITY_CONFIGURATION));
}

const metadataOf = (ec: Record<string, unknown>, type: string) =>
  ((ec.metadata ?? {}) as Record<string, Record<string, unknown> | undefined>)[type];

/**
 * The entities reachable from `start` through the federation's own statements: authority hints
 * up to the anchors, then every authority's subordinate list down. Only hosts `allowed` says
 * yes to are ever asked.
 */
export async function walkFederation(start: string, allowed: (url: string) => boolean): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [start.replace(/\/$/, '')];
  while (queue.length && seen.size < MAX_ENTITIES) {
    const url = queue.shift()!;
    if (seen.has(url) || !allowed(url)) continue;
    seen.add(url);
    const ec = await entityConfiguration(url);
    for (const hint of (ec.authority_hints as string[] | undefined) ?? []) queue.push(hint);
    const list = metadataOf(ec, 'federation_entity')?.federation_list_endpoint;
    if (typeof list === 'string' && allowed(list)) queue.push(...(JSON.parse(await fetchText(list)) as string[]));
  }
  return [...seen];
}

async function discoverEntity(url: string, label: string): Promise<DiscoveredEntity> {
  const configuration = await entityConfiguration(url);
  if (metadataOf(configuration, 'openid_provider')) {
    const discovery = JSON.parse(await fetchText(`${url}/.well-known/openid-configuration`)) as Record<string, unknown>;
    return { label, url, kind: 'op', configuration, discovery };
  }
  return { label, url, kind: metadataOf(configuration, 'openid_relying_party') ? 'portal' : 'services', configuration };
}

/** Synthetic resident ID numbers (valid check digits), phones and credit codes: never a real person's. */
export const SYNTHETIC = {
  idNumbers: ['44010619900101001', '11010520000229002', '33010619851231999'].map((d) => d + idNumberCheckDigit(d)),
  phones: ['13800000000', '19900000001'],
  usccs: ['91440101MA5CXXXX0', '91110000100000000'].map((d) => d + usccCheckCharacter(d)),
};

/** A licence number of the right form (none is issued under it). */
const LICENSE_ID = '00000000-0000-4000-8000-000000000000';

const pathOf = (url: unknown, fallback: string) => (typeof url === 'string' ? new URL(url).pathname : fallback);

/** The endpoints of one entity, with well-formed values drawn from the whole federation. */
function endpointsOf(e: DiscoveredEntity, all: DiscoveredEntity[]): Endpoint[] {
  const ops = all.filter((x) => x.kind === 'op').map((x) => x.url);
  const portals = all.filter((x) => x.kind === 'portal').map((x) => x.url);
  const entityIds = [...all.map((x) => x.url), CLOSED_LOOPBACK];
  const clientIds = [...portals, 'gov-id-account', ...ops, CLOSED_LOOPBACK];
  const redirects = [
    ...portals.map((p) => `${p}/callback`),
    `${e.url}/account/callback`,
    ...ops.map((o) => `${o}/broker/callback`),
    `${CLOSED_LOOPBACK}/cb`,
  ];
  const lang = { name: 'lang', base: ['zh-CN', 'en'] };
  const identifiers = [...SYNTHETIC.idNumbers, ...SYNTHETIC.phones];
  const f = (name: string, base: string[], extra: Partial<Field> = {}): Field => ({ name, base, ...extra });
  const jwt = (name: string): Field => ({ name, base: ['eyJhbGciOiJub25lIn0.e30.'], jwt: true });
  const ep = (
    method: Endpoint['method'],
    path: string,
    body: Endpoint['body'],
    fields: Field[],
    extra: Partial<Endpoint> = {},
  ): Endpoint => ({
    entity: e.label,
    kind: e.kind,
    origin: e.url,
    method,
    path,
    body,
    fields,
    ...extra,
  });
  const fed = metadataOf(e.configuration, 'federation_entity') ?? {};
  const out: Endpoint[] = [
    ep('GET', ENTITY_CONFIGURATION, 'none', []),
    ep('GET', pathOf(fed.federation_historical_keys_endpoint, '/federation/historical-keys'), 'none', []),
    // The administration every entity serves, asked with tokens it never issued.
    ep('GET', '/admin/keys', 'none', [], { authorization: 'admin' }),
    ep('POST', '/admin/keys/rotate', 'json', [f('lead_seconds', ['0', '3600']), f('grace_seconds', ['0'])], { authorization: 'admin' }),
    ep('GET', '/admin/audit', 'none', [f('limit', ['1', '100'])], { authorization: 'admin' }),
    ep('GET', '/admin/audit/verify', 'none', [], { authorization: 'admin' }),
  ];
  if (typeof fed.federation_fetch_endpoint === 'string') {
    const types = ['openid_provider', 'openid_relying_party', 'federation_entity', 'oauth_resource'];
    out.push(
      ep('GET', pathOf(fed.federation_fetch_endpoint, ''), 'none', [f('sub', entityIds), f('iss', [e.url])]),
      ep('GET', pathOf(fed.federation_list_endpoint, ''), 'none', [
        f('entity_type', types),
        f('intermediate', ['true', 'false']),
        f('trust_marked', ['true']),
        f('trust_mark_type', ['x']),
      ]),
      ep('GET', pathOf(fed.federation_resolve_endpoint, ''), 'none', [
        f('sub', entityIds),
        f('trust_anchor', [all[0]!.url, ...entityIds]),
        f('entity_type', types),
      ]),
      // The registry of homes every authority keeps.
      ep(
        'POST',
        '/registry/homes',
        'json',
        [
          f('kind', ['natural', 'legal']),
          f('identifier', [...SYNTHETIC.idNumbers, ...SYNTHETIC.usccs]),
          f('home', ops),
          f('previous_home', ops),
        ],
        { authorization: 'entity-assertion' },
      ),
      ep(
        'POST',
        '/registry/lookup',
        'json',
        [f('kind', ['natural', 'legal']), f('identifier', [...SYNTHETIC.idNumbers, ...SYNTHETIC.usccs])],
        { authorization: 'entity-assertion' },
      ),
    );
  }
  if (typeof fed.federation_trust_mark_endpoint === 'string') {
    const types = Object.keys((e.configuration.trust_mark_issuers ?? {}) as Record<string, unknown>);
    out.push(
      ep('GET', pathOf(fed.federation_trust_mark_endpoint, ''), 'none', [f('trust_mark_type', [...types, 'x']), f('sub', entityIds)]),
      ep('POST', pathOf(fed.federation_trust_mark_status_endpoint, ''), 'form', [jwt('trust_mark')]),
      ep('GET', pathOf(fed.federation_trust_mark_list_endpoint, ''), 'none', [f('trust_mark_type', [...types, 'x']), f('sub', entityIds)]),
    );
  }
  if (e.kind === 'op') out.push(...opEndpoints(e, { ep, f, jwt, lang, ops, clientIds, redirects, identifiers, entityIds }));
  if (e.kind === 'portal') {
    out.push(
      ep('GET', '/', 'none', [lang]),
      ep('GET', '/assets/portal.css', 'none', []),
      ep('POST', '/login', 'form', [f('csrf', ['x']), f('as', ['natural', 'legal', '']), lang], { session: 'portal' }),
      ep('GET', '/callback', 'none', [f('code', ['x']), f('state', ['x']), f('iss', ops), f('error', ['access_denied'])]),
      ep('POST', '/logout', 'form', [f('csrf', ['x']), lang], { session: 'portal' }),
      ep('GET', '/data-use', 'none', [lang], { session: 'portal' }),
      ep('POST', '/data-use/consents/:id/revoke', 'form', [f('id', ['x'], { in: 'path' }), f('csrf', ['x']), lang], { session: 'portal' }),
      ep('POST', '/backchannel-logout', 'form', [jwt('logout_token')]),
      // 我的, 我要评, 我要问 (docs/voice.md): pages of the signed-in person and of staff.
      ep('GET', '/my', 'none', [lang], { session: 'portal' }),
      ep('GET', '/my/ratings', 'none', [lang], { session: 'portal' }),
      ep('GET', '/rate/:number', 'none', [f('number', ['GZ-20261204-000042-7'], { in: 'path' }), f('stage', ['closure', 'acceptance'])], {
        session: 'portal',
      }),
      ep(
        'POST',
        '/rate/:number',
        'form',
        [f('number', ['GZ-20261204-000042-7'], { in: 'path' }), f('csrf', ['x']), f('level', ['1', '5'])],
        {
          session: 'portal',
        },
      ),
      ep('GET', '/ask', 'none', [f('item', ['11440100000101002C3070101005000']), f('case', ['GZ-20261204-000042-7'])], {
        session: 'portal',
      }),
      ep('POST', '/ask', 'form', [f('csrf', ['x']), f('item', ['11440100000101002C3070101005000']), f('text', ['出生登记要带什么材料'])], {
        session: 'portal',
      }),
      ep('GET', '/staff/rectifications/:id', 'none', [f('id', ['1'], { in: 'path' })], { session: 'portal' }),
      // 在线申请, 我的办件, 办件查询, 工作台 (docs/cases.md).
      ep('GET', '/apply/:code', 'none', [f('code', [CASE_ITEM], { in: 'path' })], { session: 'portal' }),
      ep('POST', '/apply/:code', 'form', [f('code', [CASE_ITEM], { in: 'path' }), f('csrf', ['x']), f('key', ['k-12345678'])], {
        session: 'portal',
      }),
      ep('GET', '/my-cases', 'none', [lang], { session: 'portal' }),
      ep('GET', '/my-cases/:number', 'none', [f('number', [CASE_NUMBER], { in: 'path' })], { session: 'portal' }),
      ep('POST', '/my-cases/:number/withdraw', 'form', [f('number', [CASE_NUMBER], { in: 'path' }), f('csrf', ['x'])], {
        session: 'portal',
      }),
      ep('GET', '/track', 'none', [lang]),
      ep(
        'POST',
        '/track',
        'form',
        [f('csrf', ['x']), f('number', [CASE_NUMBER]), f('phone_tail', ['1234']), f('query_code', ['ABCDEFGH'])],
        {
          session: 'portal',
        },
      ),
      ep('GET', '/workbench', 'none', [f('status', ['all', 'due_soon', 'overdue'])], { session: 'portal' }),
      ep('GET', '/workbench/cases/:number', 'none', [f('number', [CASE_NUMBER], { in: 'path' })], { session: 'portal' }),
      ep(
        'POST',
        '/workbench/cases/:number/:action',
        'form',
        [f('number', [CASE_NUMBER], { in: 'path' }), f('action', ['accept', 'decide'], { in: 'path' }), f('csrf', ['x'])],
        { session: 'portal' },
      ),
      // The e-license pages (docs/licenses.md).
      ep('GET', '/licenses/verify', 'none', [jwt('license'), lang]),
      ep('POST', '/licenses/verify', 'form', [f('csrf', ['x']), jwt('license'), f('audience', entityIds), f('nonce', ['n']), lang], {
        session: 'portal',
      }),
      ep('GET', '/licenses', 'none', [lang], { session: 'portal' }),
      ep('GET', '/licenses/:id', 'none', [f('id', [LICENSE_ID], { in: 'path' }), lang], { session: 'portal' }),
      ep('GET', '/licenses/:id/download', 'none', [f('id', [LICENSE_ID], { in: 'path' })], { session: 'portal' }),
      ep(
        'POST',
        '/licenses/:id/share',
        'form',
        [
          f('id', [LICENSE_ID], { in: 'path' }),
          f('csrf', ['x']),
          f('disclose', ['name', 'id_number']),
          f('audience', ['x']),
          f('nonce', ['n']),
        ],
        { session: 'portal' },
      ),
    );
  }
  if (e.kind === 'services') {
    const names = ['张三', 'Fuzz'];
    const dataRequest = [
      f('subject', ['natural']),
      f('dataset', ['population-facts', 'legal-person-facts']),
      f('attributes', ['name']),
      f('purpose', ['permit-application']),
      f('item', ['x']),
    ];
    const holderFields = [f('holder_kind', ['natural', 'legal']), f('holder_id', [...SYNTHETIC.idNumbers, ...SYNTHETIC.usccs])];
    out.push(
      ep('POST', '/population/verify', 'json', [f('name', names), f('id_number', SYNTHETIC.idNumbers)], {
        authorization: 'entity-assertion',
      }),
      ep(
        'POST',
        '/legal-persons/verify',
        'json',
        [
          f('uscc', SYNTHETIC.usccs),
          f('org_name', ['某公司']),
          f('representative_name', names),
          f('representative_id_number', SYNTHETIC.idNumbers),
        ],
        { authorization: 'entity-assertion' },
      ),
      ep('POST', '/messages', 'json', [f('to', SYNTHETIC.phones), f('body', ['验证码 123456'])], { authorization: 'entity-assertion' }),
      ep('POST', '/admin/persons', 'json', [f('name', names)], { authorization: 'admin' }),
      ep('POST', '/admin/organizations', 'json', [f('rep_id_number', SYNTHETIC.idNumbers)], { authorization: 'admin' }),
      ep('GET', '/admin/outbox', 'none', [f('to', SYNTHETIC.phones)], { authorization: 'admin' }),
      ep('POST', '/demo/persons', 'json', [f('name', names)]),
      ep('POST', '/demo/organizations', 'json', [f('rep_id_number', SYNTHETIC.idNumbers)]),
      ep('GET', '/demo/outbox', 'none', [f('to', SYNTHETIC.phones)]),
      // The data-sharing node (docs/exchange.md).
      ep('GET', '/exchange/datasets', 'none', []),
      ep('POST', '/exchange/requests', 'json', [f('holder', entityIds), jwt('access_token'), ...dataRequest], { authorization: 'admin' }),
      ep(
        'POST',
        '/exchange/route',
        'json',
        [
          f('request_id', ['6f1c0a52-4f44-4c8e-9a55-1a1f5c2d8e01']),
          f('route', [e.url]),
          f('holder', entityIds),
          jwt('access_token'),
          ...dataRequest,
        ],
        { authorization: 'entity-assertion' },
      ),
      ep('POST', '/exchange/log/subject', 'json', [jwt('access_token'), f('subject', ['natural'])], { authorization: 'entity-assertion' }),
      ep('GET', '/exchange/my/accesses', 'none', [], { authorization: 'access-token' }),
      ep('GET', '/exchange/my/consents', 'none', [], { authorization: 'access-token' }),
      ep('POST', '/exchange/my/consents/revoke', 'json', [f('consent', ['x'])], { authorization: 'access-token' }),
      ep('GET', '/admin/exchange/log/export', 'none', [], { authorization: 'admin' }),
      ep('GET', '/ratings/form', 'none', []),
      ep('GET', '/ratings/stats', 'none', [f('authority', ['11440100000101002C']), f('item', ['11440100000101002C3070101005000'])]),
      ep('GET', '/faq/:code', 'none', [f('code', ['11440100000101002C3070101005000'], { in: 'path' })]),
      ep('POST', '/ratings', 'json', [f('case_number', ['GZ-20261204-000042-7']), f('level', ['1'])]),
      ep('POST', '/questions', 'json', [f('item_code', ['11440100000101002C3070101005000']), f('text', ['出生登记要带什么材料'])]),
      ep('GET', '/admin/voice/limits', 'none', [], { authorization: 'admin' }),
      // Applications and cases (docs/cases.md).
      ep('POST', '/cases/uploads', 'none', [], { authorization: 'access-token' }),
      ep(
        'POST',
        '/cases',
        'json',
        [f('item_code', [CASE_ITEM]), f('delivery', ['electronic', 'mail', 'pickup']), f('item_version', ['1'])],
        { authorization: 'access-token' },
      ),
      ep('GET', '/cases/mine', 'none', [f('limit', ['1', '50'])], { authorization: 'access-token' }),
      ep('GET', '/cases/published', 'none', [f('authority', ['11440100000106040E']), f('limit', ['10'])]),
      ep('POST', '/cases/lookup', 'json', [f('number', [CASE_NUMBER]), f('phone_tail', ['1234']), f('query_code', ['ABCDEFGH'])]),
      ep('GET', '/cases/:number', 'none', [f('number', [CASE_NUMBER], { in: 'path' })], { authorization: 'access-token' }),
      ep('POST', '/cases/:number/withdraw', 'json', [f('number', [CASE_NUMBER], { in: 'path' }), f('reason', ['x'])], {
        authorization: 'access-token',
      }),
      ep('GET', '/staff/queue', 'none', [f('status', ['all', 'due_soon', 'overdue'])], { authorization: 'access-token' }),
      ep('GET', '/staff/cases/:number', 'none', [f('number', [CASE_NUMBER], { in: 'path' })], { authorization: 'access-token' }),
      ep(
        'POST',
        '/staff/cases/:number/:action',
        'json',
        [f('number', [CASE_NUMBER], { in: 'path' }), f('action', ['accept', 'decide'], { in: 'path' }), f('outcome', ['approved'])],
        { authorization: 'access-token' },
      ),
      ep(
        'POST',
        '/admin/staff/grants',
        'json',
        [f('id_number', SYNTHETIC.idNumbers), f('authority', ['11440100000106040E']), f('role', ['reviewer'])],
        {
          authorization: 'admin',
        },
      ),
      ep('GET', '/admin/cases/stats', 'none', [f('authority', ['11440100000106040E'])], { authorization: 'admin' }),
      ep('POST', '/demo/cases/:number/age', 'json', [f('number', [CASE_NUMBER], { in: 'path' }), f('days', ['1'])]),
      // Cross-region hand-offs between services entities (docs/cases.md).
      ep('POST', '/case-handoffs', 'json', [jwt('handoff')], { authorization: 'entity-assertion' }),
      ep('POST', '/case-handoffs/view', 'json', [f('number', [CASE_NUMBER]), f('view', ['applicant', 'public'])], {
        authorization: 'entity-assertion',
      }),
      ep('POST', '/case-handoffs/supply', 'json', [f('number', [CASE_NUMBER])], { authorization: 'entity-assertion' }),
      // E-licenses (docs/licenses.md).
      ep('GET', '/licenses/types', 'none', []),
      ep('POST', '/licenses/verify', 'json', [jwt('license'), f('audience', entityIds), f('nonce', ['n'])]),
      ep('GET', '/licenses/status-lists/:list', 'none', [f('list', ['1', '2'], { in: 'path' })]),
      ep('POST', '/licenses/directory/entries', 'json', [...holderFields, f('type', ['resident_id_card', 'business_license'])], {
        authorization: 'entity-assertion',
      }),
      ep('POST', '/licenses/directory/lookup', 'json', holderFields, { authorization: 'entity-assertion' }),
      ep('GET', '/licenses/mine', 'none', [], { authorization: 'access-token' }),
      ep('GET', '/licenses/mine/:id', 'none', [f('id', [LICENSE_ID], { in: 'path' })], { authorization: 'access-token' }),
      ep(
        'POST',
        '/licenses/mine/:id/presentations',
        'json',
        [f('id', [LICENSE_ID], { in: 'path' }), f('audience', entityIds), f('nonce', ['n'])],
        { authorization: 'access-token' },
      ),
      ep('POST', '/licenses/mine/demo', 'none', [], { authorization: 'access-token' }),
      ep('POST', '/admin/licenses', 'json', [f('type', ['resident_id_card', 'case_result']), f('valid_until', ['2030-01-01T00:00:00Z'])], {
        authorization: 'admin',
      }),
      ep(
        'POST',
        '/admin/licenses/:id/:action',
        'json',
        [f('id', [LICENSE_ID], { in: 'path' }), f('action', ['revoke', 'suspend', 'reinstate'], { in: 'path' }), f('reason', ['x'])],
        { authorization: 'admin' },
      ),
      ep('POST', '/demo/licenses', 'json', [f('id_number', SYNTHETIC.idNumbers)]),
    );
  }
  return out;
}

type Helpers = {
  ep: (method: Endpoint['method'], path: string, body: Endpoint['body'], fields: Field[], extra?: Partial<Endpoint>) => Endpoint;
  f: (name: string, base: string[], extra?: Partial<Field>) => Field;
  jwt: (name: string) => Field;
  lang: Field;
  ops: string[];
  clientIds: string[];
  redirects: string[];
  identifiers: string[];
  entityIds: string[];
};

function opEndpoints(e: DiscoveredEntity, h: Helpers): Endpoint[] {
  const { ep, f, jwt, lang, ops, clientIds, redirects, identifiers } = h;
  const d = e.discovery!;
  const acrs = (d.acr_values_supported as string[] | undefined) ?? ['x'];
  const clientAuth = [
    f('client_id', clientIds),
    f('client_secret', ['x']),
    f('client_assertion_type', ['urn:ietf:params:oauth:client-assertion-type:jwt-bearer']),
    jwt('client_assertion'),
  ];
  const authorization = [
    f('client_id', clientIds),
    f('response_type', ['code', 'code id_token', 'token', 'none']),
    f('scope', ['openid', 'openid profile', 'openid profile phone id_number legal_person offline_access']),
    f('redirect_uri', redirects),
    f('state', ['s']),
    f('nonce', ['n']),
    f('code_challenge', ['E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM']),
    f('code_challenge_method', ['S256', 'plain']),
    jwt('request'),
    f('request_uri', ['urn:ietf:params:oauth:request_uri:x']),
    f('prompt', ['login', 'consent', 'none', 'select_account create']),
    f('max_age', ['0', '3600']),
    f('ui_locales', ['zh-CN', 'en']),
    f('acr_values', acrs),
    f('login_hint', identifiers),
    jwt('id_token_hint'),
    f('claims', ['{"id_token":{"acr":{"essential":true}}}']),
    f('response_mode', ['query', 'form_post', 'fragment', 'jwt']),
    f('authorization_details', ['[{"type":"x"}]']),
    f('resource', h.entityIds),
  ];
  const token = [
    f('grant_type', [
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ]),
    f('code', ['x']),
    f('redirect_uri', redirects),
    f('code_verifier', ['dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk']),
    f('refresh_token', ['x']),
    f('scope', ['openid']),
    jwt('assertion'),
    jwt('subject_token'),
    f('resource', h.entityIds),
    ...clientAuth,
  ];
  const tokenOps = [jwt('token'), f('token_type_hint', ['access_token', 'refresh_token']), ...clientAuth];
  const endSession = [
    jwt('id_token_hint'),
    f(
      'post_logout_redirect_uri',
      h.entityIds.map((u) => `${u}/`),
    ),
    f('state', ['s']),
    f('ui_locales', ['zh-CN']),
    f('client_id', clientIds),
    f('logout_hint', identifiers),
  ];
  const uid = f('uid', ['x'], { in: 'path' });
  const interaction = (method: Endpoint['method'], suffix: string, fields: Field[] = []): Endpoint =>
    ep(
      method,
      `/interaction/:uid${suffix}`,
      method === 'POST' ? 'form' : 'none',
      [uid, ...(method === 'POST' ? [f('csrf', ['x'])] : []), lang, ...fields],
      { session: 'interaction' },
    );
  const account = (method: Endpoint['method'], path: string, fields: Field[] = []): Endpoint =>
    ep(method, path, method === 'POST' ? 'form' : 'none', [...(method === 'POST' ? [f('csrf', ['x'])] : []), lang, ...fields], {
      session: 'account',
    });
  const subject = f('subject', ['x', '00000000-0000-0000-0000-000000000000'], { in: 'path' });
  const paths = {
    authorization: pathOf(d.authorization_endpoint, '/auth'),
    par: pathOf(d.pushed_authorization_request_endpoint, '/request'),
    token: pathOf(d.token_endpoint, '/token'),
    userinfo: pathOf(d.userinfo_endpoint, '/me'),
    introspection: pathOf(d.introspection_endpoint, '/token/introspection'),
    revocation: pathOf(d.revocation_endpoint, '/token/revocation'),
    endSession: pathOf(d.end_session_endpoint, '/session/end'),
    jwks: pathOf(d.jwks_uri, '/jwks'),
  };
  // Coherent requests: the OP's own public account client (which gets furthest without keys), and a portal of the federation.
  const accountClient = { client_id: 'gov-id-account' };
  const portal = {
    client_id: clientIds[0]!,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: 'eyJhbGciOiJub25lIn0.e30.',
  };
  const pkce = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
  const authRequest = {
    ...accountClient,
    response_type: 'code',
    scope: 'openid profile',
    redirect_uri: `${e.url}/account/callback`,
    state: 's',
    ...pkce,
  };
  const authProfiles: Record<string, string>[] = [
    authRequest,
    { ...authRequest, prompt: 'none' },
    { ...authRequest, login_hint: SYNTHETIC.idNumbers[0]! },
    accountClient,
    { ...accountClient, request_uri: 'urn:ietf:params:oauth:request_uri:x' },
    { ...authRequest, request: 'eyJhbGciOiJub25lIn0.e30.' },
  ];
  const tokenProfiles: Record<string, string>[] = [
    { ...accountClient, grant_type: 'refresh_token', refresh_token: 'x' },
    {
      ...accountClient,
      grant_type: 'authorization_code',
      code: 'x',
      redirect_uri: `${e.url}/account/callback`,
      code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    },
    { ...portal, grant_type: 'client_credentials', scope: 'openid' },
    { ...portal, grant_type: 'refresh_token', refresh_token: 'x' },
  ];
  const tokenOpProfiles: Record<string, string>[] = [
    { ...accountClient, token: 'x' },
    { ...accountClient, token: 'x', token_type_hint: 'refresh_token' },
    { ...portal, token: 'x', token_type_hint: 'access_token' },
  ];
  const endSessionProfiles: Record<string, string>[] = [
    accountClient,
    { id_token_hint: 'eyJhbGciOiJub25lIn0.e30.' },
    { ...accountClient, post_logout_redirect_uri: `${e.url}/account`, state: 's' },
    {},
  ];
  const out: Endpoint[] = [
    ep('GET', '/.well-known/openid-configuration', 'none', []),
    ep('GET', paths.jwks, 'none', []),
    ep('GET', '/assets/gov-id.css', 'none', []),
    ep('GET', paths.authorization, 'none', authorization, { profiles: authProfiles }),
    ep('POST', paths.authorization, 'form', authorization, { profiles: authProfiles }),
    ep('GET', `${paths.authorization}/:uid`, 'none', [uid]),
    ep('POST', paths.par, 'form', [...authorization.filter((x) => x.name !== 'client_id'), ...clientAuth], {
      authorization: 'client-basic',
      profiles: [authRequest, { ...authRequest, ...portal, redirect_uri: `${portal.client_id}/callback` }],
    }),
    ep('POST', paths.token, 'form', token, { authorization: 'client-basic', profiles: tokenProfiles }),
    ep('GET', paths.userinfo, 'none', [f('access_token', ['x'])], { authorization: 'access-token', profiles: [{}, { access_token: 'x' }] }),
    ep('POST', paths.userinfo, 'form', [f('access_token', ['x'])], { authorization: 'access-token' }),
    ep('POST', paths.introspection, 'form', tokenOps, { authorization: 'client-basic', profiles: tokenOpProfiles }),
    ep('POST', paths.revocation, 'form', tokenOps, { authorization: 'client-basic', profiles: tokenOpProfiles }),
    ep('GET', paths.endSession, 'none', endSession, { profiles: endSessionProfiles }),
    ep('POST', paths.endSession, 'form', endSession, { profiles: endSessionProfiles }),
    ep('POST', `${paths.endSession}/confirm`, 'form', [f('xsrf', ['x']), f('logout', ['yes'])]),
    // Interaction forms, on a live interaction of this OP (fuzz/browser-sessions.ts).
    interaction('GET', ''),
    interaction('POST', '/identifier', [f('identifier', identifiers)]),
    interaction('POST', '/password', [f('identifier', identifiers), f('password', ['Wrong-Passw0rd!'])]),
    interaction('POST', '/otp/send', [f('identifier', identifiers)]),
    interaction('POST', '/otp', [f('identifier', identifiers), f('otp', ['123456'])]),
    interaction('POST', '/org', [f('org', ['x'])]),
    interaction('POST', '/org/register', [f('uscc', SYNTHETIC.usccs), f('org_name', ['某公司'])]),
    interaction('GET', '/regions'),
    interaction('POST', '/regions', [f('home', ops)]),
    interaction('GET', '/consent'),
    interaction('POST', '/consent'),
    interaction('POST', '/abort'),
    interaction('GET', '/register'),
    interaction('POST', '/register/otp', [f('phone', SYNTHETIC.phones)]),
    interaction('POST', '/register', [
      f('name', ['张三']),
      f('id_number', SYNTHETIC.idNumbers),
      f('phone', SYNTHETIC.phones),
      f('otp', ['123456']),
      f('password', ['Fuzz-Passw0rd-2026!']),
    ]),
    // The account area, signed in as a synthetic person where the deployment lets the harness register one.
    account('GET', '/account'),
    ep('GET', '/account/callback', 'none', [f('code', ['x']), f('state', ['x']), f('iss', [e.url])], { session: 'account' }),
    account('POST', '/account/organizations', [f('uscc', SYNTHETIC.usccs), f('org_name', ['某公司'])]),
    account('POST', '/account/move', [f('home', ops), f('password', ['Wrong-Passw0rd!'])]),
    account('GET', '/account/organizations/:subject', [subject]),
    account('POST', '/account/organizations/:subject/agents', [
      subject,
      f('name', ['张三']),
      f('id_number', SYNTHETIC.idNumbers),
      f('expires', ['2099-12-31', '']),
      f('role', ['agent', 'admin']),
      f('categories', ['x']),
    ]),
    account('POST', '/account/organizations/:subject/agents/:id/revoke', [subject, f('id', ['1', 'x'], { in: 'path' })]),
    account('GET', '/account/consents'),
    account('POST', '/account/consents/:id/revoke', [f('id', ['x'], { in: 'path' })]),
    // What the data-sharing nodes ask about consents (docs/exchange.md).
    ep('POST', '/exchange/consent-check', 'json', [jwt('access_token'), f('consent', ['x']), f('subject', ['natural'])], {
      authorization: 'entity-assertion',
    }),
    ep('POST', '/exchange/consents', 'json', [jwt('access_token')], { authorization: 'entity-assertion' }),
    ep('POST', '/exchange/consents/revoke', 'json', [jwt('access_token'), f('consent', ['x'])], { authorization: 'entity-assertion' }),
    ep('POST', '/admin/clients', 'json', [f('redirect_uris', [`${CLOSED_LOOPBACK}/cb`]), f('client_name', ['x'])], {
      authorization: 'admin',
    }),
    ep('POST', '/admin/accounts/move', 'json', [f('id_number', SYNTHETIC.idNumbers), f('to', ops)], { authorization: 'admin' }),
  ];
  // A broker: the OP is a relying party of its neighbours, with their back-channel logout and its own logout and import APIs.
  const rp = metadataOf(e.configuration, 'openid_relying_party');
  if (typeof rp?.backchannel_logout_uri === 'string') {
    out.push(
      ep('POST', pathOf(rp.backchannel_logout_uri, ''), 'form', [jwt('logout_token')]),
      ep('GET', '/broker/callback', 'none', [f('code', ['x']), f('state', ['x']), f('iss', ops), f('error', ['access_denied'])]),
      ep('POST', '/broker/logout', 'json', [f('sub', ['x'])], { authorization: 'entity-assertion' }),
      ep(
        'POST',
        '/broker/accounts/import',
        'json',
        [
          f('name', ['张三']),
          f('id_number', SYNTHETIC.idNumbers),
          f('phone', SYNTHETIC.phones),
          f('password_hash', ['$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA']),
          f('loa', ['loa1', 'loa2', 'loa3']),
        ],
        { authorization: 'entity-assertion' },
      ),
    );
  }
  return out;
}

/**
 * The catalogue of a running federation: `entities` are the base URLs with their labels (the
 * topology's IDs when known). Discovery asks each entity once, in order.
 */
export async function discoverCatalogue(entities: { url: string; label: string }[]): Promise<Catalogue> {
  const discovered: DiscoveredEntity[] = [];
  for (const { url, label } of entities) discovered.push(await discoverEntity(url, label));
  return {
    entities: discovered,
    endpoints: discovered.flatMap((e) => endpointsOf(e, discovered)),
    urls: [...discovered.map((e) => e.url), CLOSED_LOOPBACK],
    names: discovered.flatMap((e) => Object.keys((e.configuration.trust_mark_issuers ?? {}) as Record<string, unknown>)),
  };
}
