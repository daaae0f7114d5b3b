/**
 * Losing the key-value store. The federation runs on a Redis of this test's own, which is killed
 * while browsers are loading the login page: every page answers at once, either as usual or 503
 * "temporarily unavailable" (never a bare server error), OAuth endpoints answer
 * temporarily_unavailable, and a refresh token, kept in PostgreSQL, is neither lost nor used up.
 * Redis then comes back empty on the same port, as after losing its memory: logins work again
 * without restarting gov-id, and the refresh token issued before the outage still refreshes.
 */
import test, { type ExecutionContext } from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { redisServerInstalled, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, oidc, passwordLogin, redeem, relyingParty, type RelyingParty } from '../helpers/flows.ts';
import { seededPerson } from '../helpers/integration-extra.ts';
import { until } from '../helpers/until.ts';
import { answersUnavailable, loginPagesThrough } from '../helpers/outage-traffic.ts';
import { lineText, recordingLogger, type LogLine } from '../helpers/recording-logger.ts';

const PASSWORD = 'Outage-pass-42';
const UNAVAILABLE = { zh: '服务暂时不可用，请稍后再试。', en: 'The service is temporarily unavailable. Try again later.' };
/** Redis reconnects at most a second apart; this only bounds a failure. */
const RECOVERY_BOUND_MS = 60_000;

let redis: PrivateRedis;
let fed: TestFederation;
let rp: RelyingParty;
const logged: LogLine[] = [];

test.before(async () => {
  if (!redisServerInstalled) return;
  redis = await startPrivateRedis();
  fed = await startTestFederation(['gd', 'registries'], { redisUrl: redis.url, log: recordingLogger(logged, {}, { echo: true }) });
  rp = await relyingParty(fed, 'gd');
});
test.after.always(async () => {
  await fed?.close();
  await redis?.kill();
});

async function unavailablePage(t: ExecutionContext, lang: 'zh' | 'en', load: (ua: UserAgent) => Promise<{ status: number; html: string }>) {
  const ua = new UserAgent();
  ua.acceptLanguage = lang === 'zh' ? 'zh-CN' : 'en';
  const started = Date.now();
  const page = await load(ua);
  t.log(`answered ${page.status} in ${Date.now() - started} ms`);
  t.is(page.status, 503, page.html.slice(0, 500));
  t.true(page.html.includes(UNAVAILABLE[lang]), page.html.slice(0, 1500));
}

(redisServerInstalled ? test : test.skip)(
  `a store outage answers 503 temporarily_unavailable at once, keeps refresh tokens, and ends without a restart${redisServerInstalled ? '' : ' (skipped: redis-server is not installed)'}`,
  async (t) => {
    const person = await seededPerson(fed, 'gd', PASSWORD);
    const before = new UserAgent();
    const a = await authorize(rp, before);
    const tokens = await redeem(rp, await passwordLogin(before, a.page, person.id_number, PASSWORD), a);
    t.truthy(tokens.refresh_token);
    // A login under way when Redis goes: its next step finds no interaction state.
    const halfway = new UserAgent();
    const loginPage = (await authorize(rp, halfway)).page;

    await loginPagesThrough(t, rp, () => redis.kill(), RECOVERY_BOUND_MS);

    // The authorization endpoint (oidc-provider) and our interaction pages, in both languages.
    await unavailablePage(t, 'zh', async (ua) => (await authorize(rp, ua)).page);
    await unavailablePage(t, 'en', async (ua) => (await authorize(rp, ua)).page);
    await unavailablePage(t, 'zh', () => halfway.submit(loginPage, '/identifier', { identifier: person.id_number }));

    // openid-client takes a 5xx for a non-conforming answer and hands over the response as it came.
    const refreshDuring = await t.throwsAsync<oidc.ClientError>(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!));
    await answersUnavailable(t, 'refresh', refreshDuring?.cause as Response);
    await answersUnavailable(
      t,
      'userinfo',
      await fetch(rp.config.serverMetadata().userinfo_endpoint!, { headers: { authorization: `Bearer ${tokens.access_token}` } }),
    );

    // Readiness names the store (a load balancer takes the instance out); liveness stays up.
    const notReady = await fetch(`${fed.url('gd')}/readyz`);
    t.is(notReady.status, 503);
    const readiness = (await notReady.json()) as { error: string; error_description: string; checks: Record<string, string> };
    t.is(readiness.error, 'temporarily_unavailable');
    t.is(readiness.error_description, 'not ready: store');
    t.deepEqual(
      { ...readiness.checks, store: readiness.checks.store === 'ok' ? 'ok' : 'down' },
      { database: 'ok', store: 'down', signing_key: 'ok' },
    );
    t.is((await fetch(`${fed.url('gd')}/healthz`)).status, 200);

    // Redis is back, empty: no session, interaction or access token survived. No restart of gov-id.
    await redis.start();
    await until(
      async () => (await authorize(rp, new UserAgent())).page.status === 200,
      'the login page after Redis is back',
      RECOVERY_BOUND_MS,
    );

    t.is((await fetch(`${fed.url('gd')}/readyz`)).status, 200, 'ready again');
    const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    t.not(refreshed.refresh_token, tokens.refresh_token, 'the refresh token from before the outage still works, and rotates');
    t.is(refreshed.claims()?.sub, tokens.claims()!.sub);

    const after = new UserAgent();
    const again = await authorize(rp, after);
    const relogged = await redeem(rp, await passwordLogin(after, again.page, person.id_number, PASSWORD), again);
    t.is(relogged.claims()!.sub, tokens.claims()!.sub, 'a full login works again');

    // Operators learn of it once when it starts and once when it ends, not once per request.
    const outageLog = logged.filter((l) => lineText(l).includes('key-value store')).map((l) => l.level);
    t.deepEqual(outageLog, ['error', 'info']);
  },
);
