/**
 * Glewlwyd (Debian's package) as a peer: its SQLite database made from the package's own
 * initialisation script (the administrator admin/password, the database user and client
 * modules), then, through its admin API as its admin page does, the OpenID Connect plugin
 * (RS256), the test users (their passwords hashed by the user module as configured by default:
 * PBKDF2) and one confidential client (client secret, exact redirect URI, PKCE allowed).
 *
 * Its login page is a JavaScript application calling Glewlwyd's REST API. A login here makes the
 * requests that page makes for a password login, in its order; the page's static files (scripts,
 * styles, translations) a browser has in its cache are not fetched.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { freePort } from '../../cli/free-ports.ts';
import { REDIRECT_URI } from '../../test/helpers/flows.ts';
import { UserAgent, type Page } from '../../test/helpers/user-agent.ts';
import { BENCH_PASSWORD } from '../op-with-people.ts';
import { measuredByCpu, pageRequest, peerRelyingParty, type LoginServer, type Peer } from './login-server.ts';
import { PeerProcesses, PeerStartError } from './processes.ts';

/** The package's script that makes a new database with Glewlwyd's default configuration. */
const INIT_SCRIPT = '/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz';
// Letters and digits only: Glewlwyd does not URL-decode client_secret_basic's credentials, which openid-client
// encodes (RFC 6749, 2.3.1), so a hyphen would not match.
const CLIENT_ID = 'benchrp';
const CLIENT_SECRET = 'benchClientSecret0123456789';
const user = (slot: number) => `bench${slot + 1}`;

function configFile(dir: string, port: number): string {
  const mime = (extension: string, type: string) => `{ extension = "${extension}"\n mime_type = "${type}" }`;
  return `port=${port}
bind_address="127.0.0.1"
external_url="http://127.0.0.1:${port}"
login_url="login.html"
api_prefix="api"
static_files_path="/usr/share/glewlwyd/webapp/"
static_files_mime_types = ( ${[mime('.html', 'text/html'), mime('.js', 'application/javascript'), mime('.css', 'text/css'), mime('.json', 'application/json')].join(',\n')} )
log_mode="console"
log_level="WARNING"
cookie_secure=0
session_expiration=2419200
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
hash_algorithm="SHA512"
database = { type = "sqlite3"
 path = "${join(dir, 'glewlwyd.db')}" };
`;
}

/** The stored password hash of a user: `<base64 digest and salt>,<PBKDF2 iterations>` in the database user module. */
async function hashingOf(dbPath: string, username: string): Promise<string> {
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const row = db
      .prepare('SELECT guw_password AS hash FROM g_user_password JOIN g_user USING (gu_id) WHERE gu_username = ?')
      .get(username) as { hash: string } | undefined;
    const iterations = /,(\d+)$/.exec(row?.hash ?? '')?.[1];
    return iterations ? `PBKDF2-HMAC-SHA256, ${Number(iterations).toLocaleString('en')} iterations` : `unknown (${row?.hash})`;
  } finally {
    db.close();
  }
}

async function createDatabase(path: string): Promise<void> {
  if (!existsSync(INIT_SCRIPT))
    throw new PeerStartError(`Glewlwyd: ${INIT_SCRIPT} is missing (the package's documentation was not installed)`);
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(path);
  db.exec(gunzipSync(readFileSync(INIT_SCRIPT)).toString('utf8'));
  db.close();
}

async function start(users: number): Promise<LoginServer> {
  const procs = new PeerProcesses('glewlwyd');
  try {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const api = `${origin}/api`;
    const dbPath = join(procs.dir, 'glewlwyd.db');
    await createDatabase(dbPath);
    writeFileSync(join(procs.dir, 'glewlwyd.conf'), configFile(procs.dir, port));
    procs.spawn('glewlwyd', 'glewlwyd', ['-c', join(procs.dir, 'glewlwyd.conf')]);
    await procs.waitUntil(async () => (await fetch(`${origin}/config/`)).ok, 'Glewlwyd to answer');

    const admin = new UserAgent();
    const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    await pageRequest(admin, `${api}/auth/`, 200, json({ username: 'admin', password: 'password' }));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const issuer = `${api}/oidc`;
    await pageRequest(
      admin,
      `${api}/mod/plugin/`,
      200,
      json({
        module: 'oidc',
        name: 'oidc',
        display_name: 'OpenID Connect',
        enabled: true,
        parameters: {
          iss: issuer,
          'jwt-type': 'rsa',
          'jwt-key-size': '256',
          key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
          cert: publicKey.export({ type: 'spki', format: 'pem' }),
          'access-token-duration': 3600,
          'refresh-token-duration': 1209600,
          'code-duration': 600,
          'auth-type-code-enabled': true,
          'auth-type-refresh-enabled': true,
          'pkce-allowed': true,
          'pkce-method-plain-allowed': false,
          // The userinfo answers with the name and e-mail address, as gov-id's and LemonLDAP's do with theirs.
          'name-claim': 'mandatory',
          'email-claim': 'mandatory',
        },
      }),
    );
    for (let slot = 0; slot < users; slot++)
      await pageRequest(
        admin,
        `${api}/user/`,
        200,
        json({
          username: user(slot),
          password: BENCH_PASSWORD,
          scope: ['g_profile', 'openid'],
          name: `Bench ${slot + 1}`,
          email: `${user(slot)}@example.test`,
        }),
      );
    await pageRequest(
      admin,
      `${api}/client/`,
      200,
      json({
        client_id: CLIENT_ID,
        name: 'gov-id benchmark',
        confidential: true,
        // Stored as is, as gov-id's and LemonLDAP's client secrets are (a client "password" would be hashed).
        client_secret: CLIENT_SECRET,
        token_endpoint_auth_method: ['client_secret_basic'],
        redirect_uri: [REDIRECT_URI],
        authorization_type: ['code'],
        scope: [],
        enabled: true,
      }),
    );
    const rp = await peerRelyingParty(issuer, CLIENT_ID, CLIENT_SECRET);
    return {
      key: 'glewlwyd',
      title: 'Glewlwyd',
      hashing: await hashingOf(dbPath, user(0)),
      rp,
      scope: 'openid',
      signIn: (ua, page, slot) => signIn(api, ua, page, user(slot)),
      measure: (_name, loop) => measuredByCpu(() => procs.cpuMs(), loop),
      close: () => procs.stop(),
    };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}

/** What the login page's script asks, for a browser without a session, then the continue button. */
async function signIn(api: string, ua: UserAgent, page: Page, username: string): Promise<Page> {
  const params = new URL(page.url).searchParams;
  const [clientId, scope, callback] = ['client_id', 'scope', 'callback_url'].map((name) => params.get(name));
  if (!clientId || !scope || !callback) throw new Error(`not Glewlwyd's login page: ${page.url}`);
  const origin = new URL(api).origin;
  await pageRequest(ua, `${origin}/config/`, 200);
  await pageRequest(ua, `${api}/profile_list`, 401);
  await pageRequest(ua, `${api}/auth/`, 200, {
    method: 'POST',
    body: JSON.stringify({ username, password: BENCH_PASSWORD }),
    headers: { 'content-type': 'application/json' },
  });
  await pageRequest(ua, `${api}/profile_list`, 200);
  await pageRequest(ua, `${api}/auth/grant/${encodeURIComponent(clientId)}/${encodeURIComponent(scope)}`, 200);
  await pageRequest(ua, `${api}/auth/scheme/?scope=${encodeURIComponent(scope)}`, 200);
  await pageRequest(ua, `${api}/profile/plugin`, 200);
  return ua.navigate(`${callback}${callback.includes('?') ? '&' : '?'}g_continue`, {}, REDIRECT_URI);
}

export const glewlwyd: Peer = { key: 'glewlwyd', title: 'Glewlwyd', packages: ['glewlwyd'], start };
