/**
 * The pages of mutual recognition: the chooser of platforms (a person who would rather pick where
 * their account is than give the identifier here), and the way back from a neighbour OP: its
 * answer arrives at `/broker/callback` and finishes the interaction it belongs to there. The steps
 * themselves — where the account lives, routing there, signing in with the home's answer — are
 * those of login/login-completion.ts.
 */
import type Router from '@koa/router';
import type { OpDependencies } from '../op-dependencies.ts';
import { BROKER_CALLBACK_PATH } from '../login/cross-tier-hops.ts';
import { returnedFromHome, routeToHome } from '../login/login-completion.ts';
import { regionsPage } from '../views/pages.ts';
import { hopStartedInThisBrowser } from '../login/hop-binding.ts';
import { boundInteractionScope, interactionScope, InteractionExpired, sendPage, type InteractionScope } from './interaction-context.ts';

export function crossTierRoutes(router: Router, deps: OpDependencies) {
  const platforms = (s: InteractionScope) =>
    deps
      .recognition!.platforms()
      .filter((id) => id !== deps.runtime.self.url)
      .map((id) => ({ id, name: deps.recognition!.siteName(id, s.locale) }));

  router.get('/interaction/:uid/regions', async (ctx) => {
    if (!deps.recognition) throw new InteractionExpired();
    const s = await interactionScope(ctx, deps);
    sendPage(ctx, regionsPage({ ...s.form, platforms: platforms(s) }));
  });

  router.post('/interaction/:uid/regions', async (ctx) => {
    if (!deps.recognition) throw new InteractionExpired();
    const s = await interactionScope(ctx, deps);
    const home = s.body.home ?? '';
    if (!platforms(s).some((p) => p.id === home))
      return sendPage(ctx, regionsPage({ ...s.form, platforms: platforms(s), error: 'error.platform_unknown' }), 400);
    await routeToHome(ctx, deps, s, null, home);
  });

  // The neighbour sends the browser to the fixed redirect URI, where the hop's own cookie (not the
  // interaction's, scoped to /interaction/:uid) says this browser started it.
  router.get(BROKER_CALLBACK_PATH, async (ctx) => {
    if (!deps.recognition) throw new InteractionExpired();
    const state = String(ctx.query.state ?? '');
    const uid = await deps.recognition.login.pendingInteraction(state);
    if (!uid || !hopStartedInThisBrowser(ctx, deps.runtime, state, uid)) throw new InteractionExpired();
    const s = await boundInteractionScope(ctx, deps, uid);
    await returnedFromHome(ctx, deps, s, ctx.search);
  });
}
