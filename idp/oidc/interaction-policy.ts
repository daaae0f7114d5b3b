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

export function interactionPolicyFor(isLegalSubject: (subject: string) => Promise<boolean>) {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('persona_mismatch', 'the session does not act as the request asks (natural or legal person)', async (ctx: KoaContextWithOIDC) => {
      const { session, client, requestParamScopes } = ctx.oidc;
      if (!session?.accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const legal = await isLegalSubject(session.accountId);
      if (wantsLegalPerson(requestParamScopes)) return !legal || !session.grantIdFor(client!.clientId);
      return legal;
    }),
  );
  return policy;
}
