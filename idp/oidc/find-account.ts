/**
 * oidc-provider's account lookup. A natural person is found by subject. A legal person is found
 * by subject too, but its claims need the acting person: that comes from the grant the token
 * belongs to (bound when the person picked the organization), and only while the mandate is
 * live — so a revoked or lapsed authorization stops refresh and userinfo at once.
 */
import type { Account, FindAccount } from 'oidc-provider';
import type { NaturalPersonAccounts } from '../accounts/natural-person-accounts.ts';
import type { LegalPersonAccounts } from '../accounts/legal-person-accounts.ts';
import type { RecognizedAccount, RecognizedAccounts } from '../accounts/recognized-accounts.ts';
import type { AccountDirectory } from '../accounts/account-directory.ts';

/** An account whose claims are `common` plus what the granted scopes add. */
function withClaims(sub: string, common: Record<string, unknown>, byScope: (scopes: Set<string>) => Record<string, unknown>): Account {
  return { accountId: sub, claims: async (_use, scope) => ({ sub, ...common, ...byScope(new Set(scope.split(' '))) }) };
}

/** During the authorization itself there is no token yet: only the subject is needed. */
const subjectOnly = (sub: string): Account => ({ accountId: sub, claims: async () => ({ sub }) });

/**
 * A recognized account's claims are the ones its home gave at the last login, said with this
 * OP's own `sub`, and `home` naming where the account lives. A recognized organization's acting
 * person comes from the grant, as for a local one.
 */
async function recognizedAccount(
  account: RecognizedAccount,
  recognized: RecognizedAccounts,
  grantId: string | undefined,
): Promise<Account | undefined> {
  const { subject: sub, claims: home } = account;
  const common = { user_type: account.kind, home: account.home, recognized: true, name: home.name };
  if (account.kind === 'natural') {
    return withClaims(sub, common, (scopes) => ({
      ...(scopes.has('phone') && home.phone_number
        ? { phone_number: home.phone_number, phone_number_verified: home.phone_number_verified === true }
        : {}),
      ...(scopes.has('id_number') ? { id_number: home.id_number } : {}),
    }));
  }
  if (!grantId) return subjectOnly(sub);
  const actor = await recognized.actorOf(grantId);
  if (!actor) return undefined;
  return withClaims(sub, common, (scopes) => (scopes.has('legal_person') ? { uscc: home.uscc, org_name: home.org_name, ...actor } : {}));
}

export function accountFinder(
  issuer: string,
  directory: AccountDirectory,
  naturals: NaturalPersonAccounts,
  legals: LegalPersonAccounts,
  recognized: RecognizedAccounts,
): FindAccount {
  // oidc-provider asks several times within one request (code, ID token, userinfo claims): the
  // answer is kept for that request only, so a change (a revoked mandate) counts from the next one.
  const perRequest = new WeakMap<object, Map<string, Promise<Account | undefined>>>();
  const find = async (sub: string, token: Parameters<FindAccount>[2]): Promise<Account | undefined> => {
    const found = await directory.find(sub);
    if (!found) return undefined;
    if (found.kind === 'recognized') return recognizedAccount(found.account, recognized, token?.grantId);
    if (found.kind === 'natural') {
      const { person } = found;
      return withClaims(sub, { user_type: 'natural', home: issuer, recognized: false, name: person.name }, (scopes) => ({
        ...(scopes.has('phone') ? { phone_number: `+86${naturals.phoneOf(person)}`, phone_number_verified: true } : {}),
        ...(scopes.has('id_number') ? { id_number: naturals.idNumberOf(person) } : {}),
      }));
    }
    const { legal } = found;
    if (!token?.grantId) return subjectOnly(sub);
    const bound = await legals.actorOf(token.grantId);
    if (!bound || bound.mandate.legal.subject !== sub) return undefined;
    const actor = await naturals.findBySubject(bound.actorSubject);
    if (!actor) return undefined;
    return withClaims(sub, { user_type: 'legal', home: issuer, recognized: false, name: legal.orgName }, (scopes) =>
      scopes.has('legal_person')
        ? {
            uscc: legals.usccOf(legal),
            org_name: legal.orgName,
            act: { sub: actor.subject, name: actor.name },
            agent_role: bound.mandate.role,
            service_categories: bound.mandate.serviceCategories,
          }
        : {},
    );
  };
  return (ctx, sub, token) => {
    const key = `${sub} ${token?.grantId ?? ''}`;
    let memo = perRequest.get(ctx);
    if (!memo) perRequest.set(ctx, (memo = new Map()));
    let found = memo.get(key);
    if (!found) memo.set(key, (found = find(sub, token)));
    return found;
  };
}
