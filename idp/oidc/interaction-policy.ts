/**
 * oidc-provider's default interaction policy (login, then consent) with one more login check:
 * a browser session acts either as a natural person or for one organization. A request whose
 * `legal_person` scope does not match what the session is (or a legal-person request from a
 * client that has no grant in this session, hence no bound actor) asks the person to sign in
 * again and, for a legal person, to pick the organization.
 */
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

export const LEGAL_PERSON_SCOPE = 'legal_person';

export function wantsLegalPerson(scope: string | Set<string>): boolean {
  return typeof scope === 'string' ? scope.split(' ').includes(LEGAL_PERSON_SCOPE) : scope.has(LEGAL_PERSON_SCOPE);
}

export interface SessionFacts {
  isLegalSubject(subject: string): Promise<boolean>;
  /** Whether the session's account is the person a `login_hint` names (ID number or phone). */
  isHinted(subject: string, hint: string): Promise<boolean>;
  /** The level of an `acr` value (for acr_values against the session's acr). */
  levelOf(acr: string): number | null;
  /** Whether a logout from elsewhere ended the session while a login was in flight in it. */
  isEnded(sessionUid: string): Promise<boolean>;
}

/** oidc-provider's mark of a session made in this request, not loaded from the store (absent from its type definitions). */
const isNew = (session: object) => (session as { new?: boolean }).new === true;

/** The person authenticated in the interaction this request resumes: asking again would loop. */
function justLoggedIn(ctx: KoaContextWithOIDC): boolean {
  return Boolean(ctx.oidc.result?.login);
}

export function interactionPolicyFor(facts: SessionFacts) {
  const { isLegalSubject } = facts;
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('session_ended', 'the session was ended by a logout elsewhere', async (ctx: KoaContextWithOIDC) => {
      const { session } = ctx.oidc;
      // A session made in this very request (a first login in this browser) was never stored, so
      // no logout can have found its uid to end it: nothing to read.
      return session?.accountId && !isNew(session) ? facts.isEnded(session.uid) : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
  );
  // A broker relaying someone else's login must not answer with the session it happens to hold.
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(
      'login_hint_mismatch',
      'the session belongs to another person than the login_hint names',
      async (ctx: KoaContextWithOIDC) => {
        const { session, params } = ctx.oidc;
        const hint = params?.login_hint;
        if (!session?.accountId || typeof hint !== 'string' || !hint || justLoggedIn(ctx)) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        if (await isLegalSubject(session.accountId)) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        return !(await facts.isHinted(session.accountId, hint.trim().toUpperCase()));
      },
    ),
  );
  // Single sign-on only when the session's level meets the lowest level the request asks for.
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(
      'acr_not_met',
      'the session was authenticated below the requested level',
      async (ctx: KoaContextWithOIDC) => {
        const { session, params } = ctx.oidc;
        // acr_values are voluntary (Core §3.1.2.1): after a fresh login the level reached is the answer.
        if (!session?.accountId || typeof params?.acr_values !== 'string' || justLoggedIn(ctx))
          return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        const asked = params.acr_values
          .split(' ')
          .map((a) => facts.levelOf(a))
          .filter((l): l is number => l !== null);
        const held = session.acr ? facts.levelOf(session.acr) : null;
        return asked.length > 0 && (held === null || held < Math.min(...asked));
      },
    ),
  );
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(
      'persona_mismatch',
      'the session does not act as the request asks (natural or legal person)',
      async (ctx: KoaContextWithOIDC) => {
        const { session, client, requestParamScopes } = ctx.oidc;
        if (!session?.accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        const legal = await isLegalSubject(session.accountId);
        if (wantsLegalPerson(requestParamScopes)) return !legal || !session.grantIdFor(client!.clientId);
        return legal;
      },
    ),
  );
  return policy;
}
