/**
 * `gov-id conformance --issuer URL …`: runs the conformance suite (conformance/) against a
 * deployed OP over HTTP and prints one line per module and a summary; `--report FILE` writes the
 * JSON report. Exit status: 0 when no module failed, 1 when one did; usage errors are thrown as
 * ConfigurationError (the command line prints them with exit status 2). See docs/conformance.md.
 */
import type { JWK } from 'jose';
import { ConfigurationError } from '../infra/errors.ts';
import { readJson, type CommandContext } from './command.ts';
import { loadTopology, type Topology } from '../federation/topology.ts';
import type { ClientConfig, TargetConfig } from '../conformance/context.ts';
import { DEFAULT_TIMEOUT_MS } from '../conformance/http.ts';
import { LoginError } from '../conformance/login-driver.ts';
import { PLANS_NEEDING_LOGIN, selectPlans, UnknownPlanError } from '../conformance/plans.ts';
import {
  DEFAULT_POST_LOGOUT_REDIRECT_URI,
  DEFAULT_REDIRECT_URI,
  registerForConformance,
  RegistrationError,
} from '../conformance/register.ts';
import { buildReport, writeReport } from '../conformance/report.ts';
import { formatResult, formatSummary, runPlans } from '../conformance/runner.ts';

export interface ConformanceValues {
  issuer?: string;
  'client-id'?: string;
  'client-secret'?: string;
  'client-auth'?: string;
  register?: boolean;
  plan?: string[];
  module?: string[];
  report?: string;
  username?: string;
  password?: string;
  'redirect-uri'?: string[];
  'post-logout-redirect-uri'?: string[];
  'par-client-id'?: string;
  'par-client-secret'?: string;
  'jwt-client-id'?: string;
  'jwt-key'?: string;
  'lockout-username'?: string;
  'lockout-password'?: string;
  'home-issuer'?: string;
  'home-username'?: string;
  'home-password'?: string;
  'entity-id'?: string;
  'trust-anchor'?: string;
  'trust-anchor-jwks'?: string;
  scope?: string;
  slow?: boolean;
  'max-code-ttl'?: string;
  timeout?: string;
}

export interface ConformanceCommandContext {
  /** The topology (for --register: which entity is the target, where the services are). */
  topology: () => Topology;
  /** The data folder holding the master key (for --register). */
  dataDir: string;
  /** Where result lines and the summary go (default: stdout). */
  out?: (line: string) => void;
  /** Where progress and notes go (default: stderr). */
  err?: (line: string) => void;
  /** Secrets may come from the environment instead of the command line (default: process.env). */
  env?: Record<string, string | undefined>;
}

const usage = (message: string) => new ConfigurationError('', message);

function url(option: string, value: string): string {
  if (!URL.canParse(value)) throw usage(`--${option}: ${value} is not an absolute URL`);
  return value;
}

function positiveInteger(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usage(`--${option}: ${value} is not a whole number of seconds (1 or more)`);
  return n;
}

/** Runs the suite; returns the exit status (0: no module failed, 1: at least one failed). */
export async function conformanceCommand(values: ConformanceValues, ctx: ConformanceCommandContext): Promise<number> {
  const out = ctx.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = ctx.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const env = ctx.env ?? process.env;

  if (!values.issuer) throw usage('conformance needs --issuer URL (the OP to check)');
  const issuer = url('issuer', values.issuer);
  let plans;
  try {
    plans = selectPlans(values.plan);
  } catch (e) {
    if (e instanceof UnknownPlanError) throw usage(`--plan: ${e.message}`);
    throw e;
  }
  const planNames = new Set(plans.map((p) => p.name));
  const needsLogin = [...planNames].some((p) => PLANS_NEEDING_LOGIN.has(p));
  // The recognition plan logs in at the target too, but a person of another OP: it needs the client, not the test user.
  const recognition = planNames.has('recognition');
  const needsClient = needsLogin || recognition;

  const clientSecret = values['client-secret'] ?? env.GOV_ID_CONFORMANCE_CLIENT_SECRET;
  const password = values.password ?? env.GOV_ID_CONFORMANCE_PASSWORD;
  if (values.register && values['client-id']) throw usage('give either --client-id/--client-secret or --register, not both');
  if (values['client-secret'] && !values['client-id']) throw usage('--client-secret needs --client-id');
  if (values.username && !password) throw usage('--username needs --password (or GOV_ID_CONFORMANCE_PASSWORD)');
  if (values['lockout-username'] && !values['lockout-password']) throw usage('--lockout-username needs --lockout-password');
  if (values['par-client-id'] && !values['client-id'] && !values.register) throw usage('--par-client-id is used with --client-id');
  if (values['jwt-client-id'] && !values['jwt-key']) throw usage('--jwt-client-id needs --jwt-key FILE (the private JWK)');
  const homePassword = values['home-password'] ?? env.GOV_ID_CONFORMANCE_HOME_PASSWORD;
  if (values['home-username'] && !values['home-issuer'])
    throw usage('--home-username needs --home-issuer URL (the OP where that person is registered)');
  if (values['home-username'] && !homePassword) throw usage('--home-username needs --home-password (or GOV_ID_CONFORMANCE_HOME_PASSWORD)');
  if (values['home-issuer'] && !values['home-username'] && !values.register)
    throw usage('--home-issuer needs --home-username/--home-password (a person registered there), or --register to register one');
  if (values['home-issuer'] && url('home-issuer', values['home-issuer']) === issuer)
    throw usage('--home-issuer must be another OP than --issuer: the person logs in at the target with an account of their home');

  const redirectUri = values['redirect-uri']?.[0];
  if (redirectUri) url('redirect-uri', redirectUri);
  const postLogoutRedirectUri = values['post-logout-redirect-uri']?.[0];
  if (postLogoutRedirectUri) url('post-logout-redirect-uri', postLogoutRedirectUri);
  const authMethod = (values['client-auth'] ??
    (values['client-id'] && !clientSecret ? 'none' : 'client_secret_basic')) as ClientConfig['authMethod'];
  if (!['client_secret_basic', 'client_secret_post', 'none'].includes(authMethod))
    throw usage('--client-auth must be client_secret_basic, client_secret_post or none');

  const config: TargetConfig = {
    issuer,
    entityId: values['entity-id'] ? url('entity-id', values['entity-id']) : issuer,
    scope: values.scope ?? 'openid profile',
    slow: Boolean(values.slow),
    maxCodeTtlSeconds: positiveInteger('max-code-ttl', values['max-code-ttl'], 60),
    timeoutMs: positiveInteger('timeout', values.timeout, DEFAULT_TIMEOUT_MS / 1000) * 1000,
    ...(values['trust-anchor'] ? { trustAnchor: url('trust-anchor', values['trust-anchor']) } : {}),
  };
  if (values['trust-anchor-jwks']) {
    const jwks = readJson('trust-anchor-jwks', values['trust-anchor-jwks']) as { keys?: JWK[] };
    if (!Array.isArray(jwks?.keys)) throw usage(`--trust-anchor-jwks ${values['trust-anchor-jwks']}: not a JWK Set ({"keys": [...]})`);
    config.trustAnchorJwks = { keys: jwks.keys };
  }
  if (values['client-id']) {
    if (!redirectUri)
      throw usage(
        '--client-id needs --redirect-uri URI (a redirect URI registered for the client, exactly; nothing needs to listen there)',
      );
    config.client = {
      clientId: values['client-id'],
      ...(clientSecret ? { clientSecret } : {}),
      authMethod,
      redirectUri,
      ...(postLogoutRedirectUri ? { postLogoutRedirectUri } : {}),
    };
    if (values['par-client-id']) {
      const parSecret = values['par-client-secret'] ?? env.GOV_ID_CONFORMANCE_PAR_CLIENT_SECRET;
      config.parClient = {
        clientId: values['par-client-id'],
        ...(parSecret ? { clientSecret: parSecret } : {}),
        authMethod: parSecret ? authMethod : 'none',
        redirectUri,
      };
    }
  }
  if (values['jwt-client-id']) {
    const jwk = readJson('jwt-key', values['jwt-key']!) as JWK;
    if (!jwk || typeof jwk !== 'object' || !('d' in jwk)) throw usage(`--jwt-key ${values['jwt-key']}: not a private JWK`);
    config.jwtClient = {
      clientId: values['jwt-client-id'],
      authMethod: 'private_key_jwt',
      privateJwk: jwk,
      redirectUri: redirectUri ?? DEFAULT_REDIRECT_URI,
    };
  }
  if (values.username) config.user = { username: values.username, password: password! };
  if (values['lockout-username']) config.lockoutUser = { username: values['lockout-username'], password: values['lockout-password']! };
  if (values['home-username'])
    config.home = { issuer: values['home-issuer']!, user: { username: values['home-username'], password: homePassword! } };

  err(`gov-id conformance: ${issuer}; plans ${plans.map((p) => p.name).join(', ')}`);
  if (values.register && !needsClient) err('  --register: nothing to register, the plans chosen log no one in');
  if (values.register && needsClient) {
    try {
      const registered = await registerForConformance(
        {
          issuer,
          topology: ctx.topology(),
          dataDir: ctx.dataDir,
          redirectUri: redirectUri ?? DEFAULT_REDIRECT_URI,
          postLogoutRedirectUri: postLogoutRedirectUri ?? DEFAULT_POST_LOGOUT_REDIRECT_URI,
          client: needsClient,
          parClient: planNames.has('par-fapi2'),
          jwtClient: planNames.has('par-fapi2') && !config.jwtClient,
          user: needsLogin && !config.user,
          lockoutUser: planNames.has('op-negative') && !config.lockoutUser,
          home: recognition && !config.home,
          ...(values['home-issuer'] ? { homeIssuer: values['home-issuer'] } : {}),
          log: (line) => err(`  ${line}`),
        },
        config,
      );
      Object.assign(
        config,
        Object.fromEntries(Object.entries(registered).filter(([k, v]) => v !== undefined && !(k === 'user' && config.user))),
      );
    } catch (e) {
      if (e instanceof RegistrationError || e instanceof LoginError) throw usage(e.message);
      throw e;
    }
  }
  if (needsLogin && (!config.client || !config.user)) {
    throw usage(
      `the plans ${[...planNames].filter((p) => PLANS_NEEDING_LOGIN.has(p)).join(', ')} log a test user in: give --client-id/--client-secret/--redirect-uri and --username/--password, or --register (our deployments), or choose other plans with --plan`,
    );
  }
  if (recognition && !config.client) {
    throw usage(
      'the plan recognition logs a person of another OP in at the target with a test client: give --client-id/--client-secret/--redirect-uri (and --home-issuer/--home-username/--home-password), or --register (our deployments), or choose other plans with --plan',
    );
  }

  const run = await runPlans(plans, config, {
    ...(values.module ? { modules: values.module } : {}),
    onResult: (r) => out(formatResult(r)),
  });
  out(formatSummary(run.summary));
  if (values.report) {
    writeReport(
      values.report,
      buildReport(run, config, plans, { ...(values.module ? { modules: values.module } : {}), registered: Boolean(values.register) }),
    );
    err(`report: ${values.report}`);
  }
  return run.summary.failed > 0 ? 1 : 0;
}

/** `gov-id conformance` on the command line (the topology is read only if --register needs it). */
export function runConformanceCommand({ values, config, topologyPath }: CommandContext): Promise<number> {
  return conformanceCommand(values, { topology: () => loadTopology(topologyPath), dataDir: config.dataDir });
}
