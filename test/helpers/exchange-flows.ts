/**
 * Steps of the data-sharing exchange as tests (and the benchmark) take them: a portal of an OP
 * asks for a consent token with RFC 9396 authorization details, the person signs in (across
 * tiers when their home is elsewhere) and answers the OP's consent page; the requesting node's
 * business system then makes the data request. Free of the test runner (bench/).
 */
import { decodeJwt } from 'jose';
import { callAdmin } from '../../infra/admin-client.ts';
import { loadMasterKey } from '../../infra/crypto.ts';
import { adminTokenFor } from '../../infra/entity-runtime.ts';
import { DATA_ACCESS_TYPE } from '../../infra/data-access-detail.ts';
import { authorize, oidc, REDIRECT_URI, type FederationAddresses, type RelyingParty } from './flows.ts';
import type { Page, UserAgent } from './user-agent.ts';
import { until } from './until.ts';

export interface DetailFields {
  holder: string;
  requester: string;
  dataset: string;
  attributes: string[];
  purpose: string;
  item?: string;
  case?: string;
}

export function dataAccessDetail(d: DetailFields) {
  const { holder, ...rest } = d;
  return { type: DATA_ACCESS_TYPE, locations: [holder], ...rest };
}

export interface ConsentOutcome {
  /** The OP's consent page, or null when a standing consent made it unnecessary. */
  consentPage: Page | null;
  /** Where the browser ended: the client's callback, or a page of the OP. */
  last: Page;
  accessToken: string | null;
}

/**
 * At `rp`'s OP the person signs in (identifier, then the password on their home OP's page) and
 * answers the consent page: `mode` is the consent_mode chosen ('once', '30', …), null to deny.
 * `org`: for an organization, the one to act for (legal_person scope).
 */
export async function consentAt(
  rp: RelyingParty,
  ua: UserAgent,
  opts: {
    identifier: string;
    password: string;
    details: Record<string, unknown>[];
    mode: string | null;
    org?: boolean;
    /** More authorization parameters (ui_locales …). */
    params?: Record<string, string>;
  },
): Promise<ConsentOutcome> {
  const holder = (opts.details[0]!.locations as string[])[0]!;
  const a = await authorize(
    rp,
    ua,
    {
      scope: opts.org ? 'openid profile legal_person' : 'openid profile',
      resource: holder,
      authorization_details: JSON.stringify(opts.details),
      ...opts.params,
    },
    true,
  );
  let page = a.page;
  if (!page.url.startsWith(REDIRECT_URI) && /\/identifier"/.test(page.html))
    page = await ua.submit(page, '/identifier', { identifier: opts.identifier });
  if (!page.url.startsWith(REDIRECT_URI) && /\/password"/.test(page.html))
    page = await ua.submit(page, '/password', { password: opts.password }, REDIRECT_URI);
  const org = /<input type="radio" name="org" value="([^"]+)"/.exec(page.html)?.[1];
  if (opts.org && org) page = await ua.submit(page, '/org', { org }, REDIRECT_URI);
  let consentPage: Page | null = null;
  if (!page.url.startsWith(REDIRECT_URI) && /\/consent(\?|$)/.test(new URL(page.url).pathname + '?')) {
    consentPage = page;
    page =
      opts.mode === null
        ? await ua.submit(page, '/abort', {}, REDIRECT_URI)
        : await ua.submit(page, '/consent', { consent_mode: opts.mode }, REDIRECT_URI);
  }
  if (!page.url.startsWith(REDIRECT_URI) || new URL(page.url).searchParams.has('error'))
    return { consentPage, last: page, accessToken: null };
  const tokens = await oidc.authorizationCodeGrant(
    rp.config,
    new URL(page.url),
    { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce, idTokenExpected: true },
    { resource: holder },
  );
  return { consentPage, last: page, accessToken: tokens.access_token };
}

export interface DataRequestBody {
  holder: string;
  access_token?: string;
  subject: { kind: 'natural'; id_number: string } | { kind: 'legal'; uscc: string };
  dataset: string;
  attributes: string[];
  purpose: string;
  item?: string | null;
  case?: string | null;
}

/** The requesting node's business system asks for data (its admin API); the answer's status and body. */
export async function requestData(
  fed: FederationAddresses,
  node: string,
  body: DataRequestBody,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${fed.url(node)}/exchange/requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken(fed, node)}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The node's admin token, as the operator's tools have it (infra/admin-client.ts). */
function adminToken(fed: FederationAddresses, node: string): string {
  return adminTokenFor(loadMasterKey(fed.config.dataDir), fed.topology.get(node).url);
}

/** The node's access log, exported as an auditor gets it. */
export async function exportedLog(fed: FederationAddresses, node: string): Promise<Record<string, unknown>> {
  return (await callAdmin(fed.topology.get(node), fed.config.dataDir, 'GET', '/admin/exchange/log/export')) as Record<string, unknown>;
}

/**
 * Waits until each OP holds its trust marks (it obtains them from national a moment after it
 * starts): a node accepts tokens only from an OP with a valid real-name-op mark.
 */
export async function trustMarksHeld(fed: FederationAddresses, ops: string[]): Promise<void> {
  for (const op of ops) {
    await until(
      async () => {
        const res = await fetch(`${fed.url(op)}/.well-known/openid-federation`);
        return 'trust_marks' in decodeJwt(await res.text());
      },
      `${op} to hold its trust marks`,
      30_000,
    );
  }
}
