/**
 * A licence's status, as its issuer's status list shows it: valid, suspended (暂扣, reinstated
 * later) or revoked (吊销/注销, for good). Expiry is not a status: it is the licence's own `exp`,
 * which every verifier checks. The transitions are this table and nothing else.
 */
import { Conflict } from '../../infra/errors.ts';

export type LicenseState = 'valid' | 'suspended' | 'revoked';
export type LicenseAction = 'suspend' | 'reinstate' | 'revoke';
export const LICENSE_ACTIONS: readonly LicenseAction[] = ['suspend', 'reinstate', 'revoke'];

const TRANSITIONS: Record<LicenseState, Partial<Record<LicenseAction, LicenseState>>> = {
  valid: { suspend: 'suspended', revoke: 'revoked' },
  suspended: { reinstate: 'valid', revoke: 'revoked' },
  revoked: {},
};

/** The state after `action`; 409 license_state when the licence's state does not allow it. */
export function nextState(state: LicenseState, action: LicenseAction): LicenseState {
  const next = TRANSITIONS[state][action];
  if (!next) throw new Conflict('license_state', `a ${state} licence cannot be ${action === 'reinstate' ? 'reinstated' : `${action}d`}`);
  return next;
}
