/**
 * Plan recognition: mutual recognition through the brokers (a person registered at one OP logs
 * in at another). The brokers do not exist yet (issue 5), so every module is skipped with that
 * reason. A target that advertises recognition (its discovery document lists the `recognized`
 * claim) gets a warning instead: the suite cannot check it yet, and says so rather than pass.
 */
import type { ConformanceContext } from '../context.ts';
import { Skip, type ConformanceModule } from '../types.ts';

export const BROKERS_NOT_DEPLOYED = 'brokers not deployed (issue 5)';

async function brokersAdvertised(ctx: ConformanceContext): Promise<string | null> {
  const d = await ctx.discovery().catch(() => null);
  const claims = d?.claims_supported;
  return Array.isArray(claims) && claims.includes('recognized') ? 'the discovery document lists the recognized claim' : null;
}

function recognitionModule(name: string, clause: string, title: string): ConformanceModule {
  return {
    name: `recognition/${name}`,
    clause,
    title,
    async run(ctx) {
      const advertised = await brokersAdvertised(ctx);
      if (!advertised) throw new Skip(BROKERS_NOT_DEPLOYED);
      return { warn: `brokers are advertised (${advertised}) but this version of the suite cannot check recognition yet: not verified` };
    },
  };
}

export const recognitionModules: ConformanceModule[] = [
  recognitionModule('cross-op-login', 'gov-id mutual recognition (issue 5)', 'A person registered at one OP logs in at another OP through the brokers.'),
  recognitionModule('home-and-recognized-claims', 'gov-id mutual recognition (issue 5)', "The visited OP's tokens carry home (the issuer where the account lives) and recognized."),
  recognitionModule('loa-cap', 'gov-id mutual recognition (issue 5); level-of-assurance policy', "The visited OP's acr is capped at what the recognition policy allows."),
  recognitionModule('logout-propagation', 'OpenID Connect Back-Channel Logout 1.0 §2; gov-id mutual recognition (issue 5)', 'Logging out reaches every relying party on the chain.'),
];
