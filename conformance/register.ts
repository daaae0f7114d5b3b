/**
 * `--register`: sets up what a tester would otherwise bring, for a gov-id deployment whose admin
 * API the caller can reach (the master key of `--data DIR` or GOV_ID_MASTER_KEY, like the other
 * admin commands):
 *
 * - a confidential test client, a client that requires PAR and a private_key_jwt client (its ES256
 *   key pair made for the run, the public key registered), through the OP's admin API
 *   (`POST /admin/clients`) at the topology entity whose issuer is the target;
 * - the test user, and a throwaway user the rate-limit probe may lock out: synthetic persons of the
 *   population registry (`POST {services}/demo/persons`, or the admin API outside demo mode),
 *   registered through the OP's real registration forms with the SMS code read from the outbox;
 * - for the recognition plan, one more such person registered at another OP of the topology (their
 *   home: `--home-issuer`, or the OP farthest from the target), through a client added there.
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { callAdmin } from '../cli/admin-client.ts';
import type { Entity, Topology } from '../federation/topology.ts';
import { ConformanceContext, type ClientConfig, type HomeConfig, type TargetConfig } from './context.ts';
import { describe, request } from './http.ts';
import { registerThroughForms, type Credentials, type PersonToRegister } from './login-driver.ts';
import { maskUser } from './report.ts';

export const DEFAULT_REDIRECT_URI = 'https://rp.conformance.invalid/callback';
export const DEFAULT_POST_LOGOUT_REDIRECT_URI = 'https://rp.conformance.invalid/logged-out';

export class RegistrationError extends Error {}

export interface RegisterInput {
  issuer: string;
  topology: Topology;
  dataDir: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  /** What to create. */
  client: boolean;
  parClient: boolean;
  jwtClient: boolean;
  user: boolean;
  lockoutUser: boolean;
  /** A person registered at a home OP for the recognition plan: at `homeIssuer`, or at {@link defaultHome}. */
  home: boolean;
  homeIssuer?: string;
  /** Progress lines (the command writes them to stderr). */
  log?: (line: string) => void;
}

export interface Registered {
  client?: ClientConfig;
  parClient?: ClientConfig;
  jwtClient?: ClientConfig;
  user?: Credentials;
  lockoutUser?: Credentials;
  home?: HomeConfig;
}

export function opForIssuer(topology: Topology, issuer: string): Entity {
  const op = topology.entities.find((e) => e.kind === 'op' && (e.issuer === issuer || e.url === issuer));
  if (!op) {
    const ops = topology.entities.filter((e) => e.kind === 'op').map((e) => `${e.id} ${e.issuer ?? e.url}`);
    throw new RegistrationError(
      `--register: no OP of the topology has the issuer ${issuer}; the OPs are: ${ops.join(', ')} (give --topology FILE for another deployment)`,
    );
  }
  return op;
}

/** The entities from `id` up to the trust anchor: [id, its superior, …, national]. */
function upwards(topology: Topology, id: string): string[] {
  const path: string[] = [];
  for (let e: string | null = id; e; e = topology.get(e).superior) path.push(e);
  return path;
}

/**
 * The home for the recognition plan when none is given: the OP whose route from the target
 * crosses the most brokers (the longest chain to sign in and out along), the first of the
 * topology among equals; null when the target is the only OP.
 */
export function defaultHome(topology: Topology, target: Entity): Entity | null {
  const from = upwards(topology, target.id);
  const hops = (e: Entity) => {
    const to = upwards(topology, e.id);
    const common = to.find((id) => from.includes(id))!;
    return from.indexOf(common) + to.indexOf(common);
  };
  return topology
    .ops()
    .filter((e) => e.id !== target.id)
    .reduce<Entity | null>((best, e) => (best && hops(best) >= hops(e) ? best : e), null);
}

/** A password the registration rules accept: letters and digits, 8–64 characters. */
export function newPassword(): string {
  return `Conf${randomBytes(9)
    .toString('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x')}7`;
}

async function newPerson(topology: Topology, dataDir: string): Promise<PersonToRegister> {
  const services = topology.services();
  const res = await request(`${services.url}/demo/persons`, {
    method: 'POST',
    body: '{}',
    headers: { 'content-type': 'application/json' },
  });
  if (res.status === 201) return res.json as PersonToRegister;
  if (res.status !== 404) throw new RegistrationError(`the population registry refused a synthetic person: ${describe(res)}`);
  return (await callAdmin(services, dataDir, 'POST', '/admin/persons', {})) as PersonToRegister;
}

/** The newest SMS code sent to a phone, from the outbox (demo API, or the admin API). */
async function readCode(topology: Topology, dataDir: string, phone: string): Promise<string> {
  const services = topology.services();
  let messages: unknown;
  const res = await request(`${services.url}/demo/outbox?to=${encodeURIComponent(phone)}`);
  if (res.status === 200) messages = res.json;
  else messages = await callAdmin(services, dataDir, 'GET', `/admin/outbox?to=${encodeURIComponent(phone)}`);
  const list = Array.isArray(messages) ? (messages as { body?: string }[]) : [];
  const code = /(\d{6})/.exec(list[0]?.body ?? '')?.[1];
  if (!code) throw new RegistrationError(`no SMS code in the outbox for ${phone.slice(0, 3)}****${phone.slice(7)}`);
  return code;
}

async function addClient(
  op: Entity,
  dataDir: string,
  body: Record<string, unknown>,
  redirectUri: string,
  postLogoutRedirectUri: string,
): Promise<ClientConfig> {
  const creds = (await callAdmin(op, dataDir, 'POST', '/admin/clients', body)) as { client_id: string; client_secret?: string };
  return {
    clientId: creds.client_id,
    ...(creds.client_secret ? { clientSecret: creds.client_secret } : {}),
    authMethod: creds.client_secret ? 'client_secret_basic' : 'none',
    redirectUri,
    postLogoutRedirectUri,
  };
}

/** A private_key_jwt client: a key pair made for this run, whose private half never leaves this process. */
async function addJwtClient(op: Entity, input: RegisterInput, body: Record<string, unknown>): Promise<ClientConfig> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const key = { kid: await calculateJwkThumbprint(publicJwk), alg: 'ES256' };
  const client = await addClient(
    op,
    input.dataDir,
    { ...body, jwks: { keys: [{ ...publicJwk, ...key, use: 'sig' }] } },
    input.redirectUri,
    input.postLogoutRedirectUri,
  );
  return { ...client, authMethod: 'private_key_jwt', privateJwk: { ...(await exportJWK(privateKey)), ...key } };
}

/** A synthetic person registered through the forms of the OP `issuer`, where `client` is registered. */
async function registerPerson(
  input: RegisterInput,
  issuer: string,
  client: ClientConfig,
  base: TargetConfig,
): Promise<{ person: PersonToRegister; password: string }> {
  const person = await newPerson(input.topology, input.dataDir);
  const password = newPassword();
  const ctx = new ConformanceContext({ ...base, issuer, client });
  const browser = await ctx.newBrowser();
  const start = await ctx.authorize({}, { browser, interact: false, client });
  const end = await registerThroughForms(browser, start.page, person, password, (phone) => readCode(input.topology, input.dataDir, phone));
  if (!end.left || !new URL(end.url).searchParams.get('code'))
    throw new RegistrationError(`registering a synthetic person did not end with a code at the redirect URI (${end.status} ${end.url})`);
  return { person, password };
}

/** The recognition plan's person, registered at their home (a client is added there to reach its registration form). */
async function registerAtHome(
  input: RegisterInput,
  target: Entity,
  clientBody: Record<string, unknown>,
  base: TargetConfig,
): Promise<HomeConfig | undefined> {
  const log = input.log ?? (() => {});
  const home = input.homeIssuer ? opForIssuer(input.topology, input.homeIssuer) : defaultHome(input.topology, target);
  if (!home) {
    log(`no other OP in the topology: the recognition plan has no home to log in from`);
    return undefined;
  }
  const issuer = home.issuer ?? home.url;
  const client = await addClient(home, input.dataDir, clientBody, input.redirectUri, input.postLogoutRedirectUri);
  // The ID number: what an OP's login page takes for someone registered elsewhere (the registry of homes is keyed by it).
  const { person, password } = await registerPerson(input, issuer, client, base);
  log(`registered home test user ${maskUser(person.id_number)} at ${home.id} through the forms (for the recognition plan)`);
  return { issuer, user: { username: person.id_number, password } };
}

export async function registerForConformance(input: RegisterInput, base: TargetConfig): Promise<Registered> {
  const log = input.log ?? (() => {});
  const op = opForIssuer(input.topology, input.issuer);
  const out: Registered = {};
  const clientBody = {
    redirect_uris: [input.redirectUri],
    post_logout_redirect_uris: [input.postLogoutRedirectUri],
    client_name: 'gov-id conformance',
  };
  if (input.client || input.user || input.lockoutUser || input.home) {
    out.client = await addClient(op, input.dataDir, clientBody, input.redirectUri, input.postLogoutRedirectUri);
    log(`registered client ${out.client.clientId} at ${op.id}`);
  }
  if (input.parClient) {
    out.parClient = await addClient(
      op,
      input.dataDir,
      { ...clientBody, client_name: 'gov-id conformance (PAR only)', require_pushed_authorization_requests: true },
      input.redirectUri,
      input.postLogoutRedirectUri,
    );
    log(`registered PAR-only client ${out.parClient.clientId} at ${op.id}`);
  }
  if (input.jwtClient) {
    out.jwtClient = await addJwtClient(op, input, { ...clientBody, client_name: 'gov-id conformance (private_key_jwt)' });
    log(`registered private_key_jwt client ${out.jwtClient.clientId} at ${op.id}`);
  }
  // The phone is the local users' identifier.
  const registerLocal = async () => {
    const { person, password } = await registerPerson(input, input.issuer, out.client!, base);
    return { username: person.phone, password };
  };
  if (input.user) {
    out.user = await registerLocal();
    log(`registered test user ${out.user.username.slice(0, 3)}****${out.user.username.slice(7)} through the forms`);
  }
  if (input.lockoutUser) {
    out.lockoutUser = await registerLocal();
    log(
      `registered throwaway user ${out.lockoutUser.username.slice(0, 3)}****${out.lockoutUser.username.slice(7)} (for the rate-limit probe)`,
    );
  }
  if (input.home) out.home = await registerAtHome(input, op, clientBody, base);
  return out;
}
