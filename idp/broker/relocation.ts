/**
 * Relocation: an account's home moves to another OP of the federation (a person moves from
 * Guangzhou to Hangzhou). The old home stops the account first (`moving`), hands it over to the
 * new home on an entity-authenticated back channel (`POST /broker/accounts/import`, credentials
 * included: the home is where they live), and only once the new home has it marks it `moved`,
 * ends its sessions and publishes the move to its side of the registry, while the new home
 * publishes it to its own. So at no moment does the account work at two homes; a hand-over the
 * new home refused, or never received, puts it back. The old home keeps only where the account went, and sends logins there.
 *
 * A move cut off by a crash is completed by asking for it again (docs/recognition.md, "Crashes
 * during a move"): the account stays stopped, bound to the home it was going to, and the new home
 * answers a repeated hand-over with the account it already took.
 */
import { z } from 'zod';
import { NeverSent, postAsEntity } from '../../infra/entity-request.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { BadRequest, Conflict, HttpError, NotFound, UpstreamUnavailable } from '../../infra/errors.ts';
import { parseIdNumber, parsePhone } from '../../infra/identifiers.ts';
import { UntrustedOp, type TrustedOps } from '../../federation/trusted-op.ts';
import { LOA_LEVELS } from '../../federation/loa.ts';
import type { NaturalPerson, NaturalPersonAccounts } from '../accounts/natural-person-accounts.ts';
import type { LegalPersonAccounts } from '../accounts/legal-person-accounts.ts';
import type { SessionTermination } from './session-termination.ts';
import { BROKER_TIMEOUTS } from './broker-timeouts.ts';
import { crashPoint } from '../../infra/crash-points.ts';

export const ACCOUNT_IMPORT_PATH = '/broker/accounts/import';

/** A string field normalized by `parse`, which throws on a bad value: then `message` is the field's error. */
const parsed = (parse: (value: string) => string, message: string) =>
  z.string().transform((value, ctx) => {
    try {
      return parse(value);
    } catch {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
  });

/** What the new home receives. */
export const importBody = z
  .object({
    name: z.string().min(1).max(64),
    id_number: parsed(parseIdNumber, 'not a valid resident ID number'),
    phone: parsed(parsePhone, 'not a mainland mobile number'),
    password_hash: z
      .string()
      .regex(/^\$argon2id\$/, 'must be an argon2id hash')
      .max(256),
    loa: z.enum(LOA_LEVELS as [string, ...string[]]),
  })
  .strict();

/** What an administrator asks of the old home. */
export const moveBody = z.object({ id_number: z.string().min(1).max(32), to: z.url({ protocol: /^https?$/ }).max(512) }).strict();

export interface RelocationOptions {
  self: string;
  accounts: NaturalPersonAccounts;
  legalPersons: LegalPersonAccounts;
  trustedOps: TrustedOps;
  sessions: SessionTermination;
  signingKey: () => PrivateJwk;
}

export class Relocation {
  constructor(private readonly o: RelocationOptions) {}

  /** The checks before an account leaves for `to`; returns the normalized ID number. */
  private async mayLeave(rawIdNumber: string, to: string): Promise<string> {
    let idNumber: string;
    try {
      idNumber = parseIdNumber(rawIdNumber);
    } catch {
      throw new BadRequest('invalid_request', 'id_number: not a valid resident ID number');
    }
    if (to === this.o.self) throw new Conflict('same_home', 'the account already lives here');
    // Organizations stay with their home, and a mandate here works only for a person who logs in here.
    if ((await this.o.legalPersons.mandatesOf(this.o.accounts.idNumberIndex(idNumber))).length > 0) {
      throw new Conflict(
        'acts_for_organizations',
        'the person acts for organizations registered here; those mandates must be handed over or revoked before moving',
      );
    }
    try {
      await this.o.trustedOps.get(to);
    } catch (err) {
      if (err instanceof UntrustedOp) throw new HttpError(400, 'untrusted_home', err.message);
      throw err;
    }
    return idNumber;
  }

  /** Stops the account for its move to `to`: a new move, or one to `to` that was cut off; else why not. */
  private async stopped(idNumber: string, to: string): Promise<NaturalPerson> {
    const account = await this.o.accounts.beginMove(idNumber, to);
    if (account) return account;
    const state = await this.o.accounts.moveState(idNumber);
    if (state?.status === 'moved' && state.to === to) throw new Conflict('already_moved', `the account already moved to ${to}`);
    if (state?.status === 'moving')
      throw new Conflict('move_under_way', `the account is moving to ${state.to}; ask for that move again to complete it`);
    throw new NotFound('no active account with this ID number here');
  }

  /** Moves the account with this ID number to `to`; returns its subject there. */
  async moveAway(rawIdNumber: string, to: string): Promise<{ subject: string }> {
    const { accounts, self } = this.o;
    const idNumber = await this.mayLeave(rawIdNumber, to);
    const account = await this.stopped(idNumber, to);
    crashPoint('relocation.stopped', self);
    let answer;
    try {
      answer = await postAsEntity({
        from: self,
        key: this.o.signingKey(),
        to,
        path: ACCOUNT_IMPORT_PATH,
        body: {
          name: account.name,
          id_number: accounts.idNumberOf(account),
          phone: accounts.phoneOf(account),
          password_hash: account.passwordHash,
          loa: account.loa,
        },
        timeoutMs: BROKER_TIMEOUTS.relocationMs,
      });
    } catch (err) {
      // Without an answer the new home may have taken the account: putting it back here could make
      // it work at two homes. It stays stopped for this move, which asked again completes.
      if (err instanceof NeverSent) await accounts.abortMove(account.subject);
      else if (err instanceof UpstreamUnavailable) throw new UpstreamUnavailable(`${err.message}; ask for the move again`);
      throw err;
    }
    if (answer.status >= 500)
      throw new UpstreamUnavailable(`${to} failed to take the account (HTTP ${answer.status}); ask for the move again`);
    if (answer.status !== 200 && answer.status !== 201) {
      // A refusal: the new home took nothing.
      await accounts.abortMove(account.subject);
      const reason = typeof answer.json.error_description === 'string' ? answer.json.error_description : `HTTP ${answer.status}`;
      throw answer.status === 409
        ? new Conflict('home_conflict', `${to} refused the account: ${reason}`)
        : new UpstreamUnavailable(`${to} refused the account: ${reason}`);
    }
    // Sessions end before the account is marked moved: once it is, a repeated move finds nothing to do.
    await this.o.sessions.endSessionsOf(account.subject);
    await accounts.completeMove(account, to, self);
    return { subject: String(answer.json.subject ?? '') };
  }

  /**
   * Resolves a registry conflict (docs/recognition.md): the person registered twice, and `keptAt`
   * keeps them. The account here ends as if moved there, without handing anything over (the person
   * has credentials there): logins here go there, and the registries on this side learn the home.
   */
  async closeDuplicate(rawIdNumber: string, keptAt: string): Promise<{ subject: string }> {
    const { accounts, self } = this.o;
    const idNumber = await this.mayLeave(rawIdNumber, keptAt);
    const account = await this.stopped(idNumber, keptAt);
    await this.o.sessions.endSessionsOf(account.subject);
    await accounts.completeMove(account, keptAt, self, 'duplicate');
    return { subject: account.subject };
  }
}
