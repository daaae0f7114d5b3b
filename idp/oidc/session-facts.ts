/**
 * What the interaction policy (interaction-policy.ts) asks about a browser session, answered from
 * this OP's accounts and store: whether its subject is an organization, whether it is the person
 * a login_hint names, the level of an acr, and whether a logout from elsewhere ended it.
 */
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import type { AccountDirectory } from '../accounts/account-directory.ts';
import type { NaturalPersonAccounts } from '../accounts/natural-person-accounts.ts';
import { endedSessionKey } from '../broker/session-termination.ts';
import { inProviderTerms } from './artifact-adapter.ts';
import { LOA_LEVELS, type LoaLevel } from '../loa.ts';
import type { SessionFacts } from './interaction-policy.ts';

export function sessionFacts(o: {
  directory: AccountDirectory;
  accounts: NaturalPersonAccounts;
  kv: KeyValueStore;
  acrUris: Record<LoaLevel, string>;
}): SessionFacts {
  return {
    isLegalSubject: (subject) => o.directory.isLegal(subject),
    isHinted: async (subject, hint) => {
      const index = o.accounts.identifierIndex(hint);
      const found = index ? await o.directory.find(subject) : null;
      if (found?.kind === 'natural') return found.person.idNumberIndex === index || found.person.phoneIndex === index;
      return found?.kind === 'recognized' && found.account.identifierIndex === index;
    },
    levelOf: (acr) => {
      const i = LOA_LEVELS.findIndex((l) => o.acrUris[l] === acr);
      return i < 0 ? null : i;
    },
    isEnded: async (sessionUid) => (await o.kv.get(endedSessionKey(sessionUid)).catch(inProviderTerms)) !== null,
  };
}
