/**
 * The test plans, modeled on the OpenID Foundation's certification plans. Each plan is a list of
 * modules run in order; `--plan` picks plans (default: all of them).
 */
import { federationModules } from './modules/federation.ts';
import { opBasicModules } from './modules/op-basic.ts';
import { opConfigModules } from './modules/op-config.ts';
import { opNegativeModules } from './modules/op-negative.ts';
import { parFapi2Modules } from './modules/par-fapi2.ts';
import { recognitionModules } from './modules/recognition.ts';
import { PLAN_NAMES, type PlanName } from './plan-names.ts';
import type { ConformanceModule, Plan } from './types.ts';

export { PLAN_NAMES };

export const PLANS: readonly (Plan & { name: PlanName })[] = [
  {
    name: 'op-config',
    title: 'discovery document, JWKS, required metadata, issuer, algorithms, no implicit/hybrid',
    modules: opConfigModules,
  },
  {
    name: 'op-basic',
    title: 'code flow end to end: PKCE, state/nonce, ID token, userinfo, claims by scope, refresh rotation, revocation, iss',
    modules: opBasicModules,
  },
  {
    name: 'op-negative',
    title: 'requests that must be refused, open redirects, login CSRF, user enumeration, rate limit',
    modules: opNegativeModules,
  },
  { name: 'par-fapi2', title: 'PAR, PAR-only clients, code lifetime, private_key_jwt, DPoP', modules: parFapi2Modules },
  {
    name: 'federation',
    title: 'entity configuration, subordinate statements, trust chain, resolve endpoint, bad signatures',
    modules: federationModules,
  },
  {
    name: 'recognition',
    title: 'a person of another OP logs in through the brokers: home and recognized claims, LoA cap, SSO, logout along the chain',
    modules: recognitionModules,
  },
];

/** Plans that need a client and a test user. */
export const PLANS_NEEDING_LOGIN = new Set(['op-basic', 'op-negative', 'par-fapi2']);

export class UnknownPlanError extends Error {}

/** Plans by name (comma-separated names allowed); all plans when none is given. */
export function selectPlans(names: string[] | undefined): Plan[] {
  const wanted = (names ?? [])
    .flatMap((n) => n.split(','))
    .map((n) => n.trim())
    .filter(Boolean);
  if (wanted.length === 0 || wanted.includes('all')) return [...PLANS];
  return wanted.map((name) => {
    const plan = PLANS.find((p) => p.name === name);
    if (!plan) throw new UnknownPlanError(`unknown plan ${name}; the plans are ${PLAN_NAMES.join(', ')}`);
    return plan;
  });
}

export function allModules(): ConformanceModule[] {
  return PLANS.flatMap((p) => p.modules);
}
