/**
 * Relocation: an account's home moves to another OP of the federation (a person moves from
 * Guangzhou to Hangzhou). The old home stops the account first (`moving`), hands it over to the
 * new home on an entity-authenticated back channel (`POST /broker/accounts/import`, credentials
 * included: the home is where they live), and only once the new home has it marks it `moved`,
 * ends its sessions and publishes the move to its side of the registry, while the new home
 * publishes it to its own. So at no moment does the account work at two homes; a failed hand-over
 * puts it back. The old home keeps only where the account went, and sends logins there.
 */
import { z } from 'zod';
import { postAsEntity } from '../../infra/entity-request.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { BadRequest, Conflict, HttpError, NotFound, UpstreamUnavailable } from '../../infra/errors.ts';
import { parseIdNumber, parsePhone } from '../../infra/identifiers.ts';
import { UntrustedOp, type TrustedOps } from '../../federation/trusted-op.ts';
import { LOA_LEVELS } from '../loa.ts';
import type { NaturalPersonAccounts } from '../accounts/natural-person-accounts.ts';
import type { LegalPersonAccounts } from '../accounts/legal-person-accounts.ts';
import type { SessionTermination } from './session-termination.ts';

export const ACCOUNT_IMPORT_PATH = '/broker/accounts/import';
const TIMEOUT_MS = 5000;

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

  /** Moves the account with this ID number to `to`; returns its subject there. */
  async moveAway(idNumber: string, to: string): Promise<{ subject: string }> {
    const { accounts, self } = this.o;
    try {
      idNumber = parseIdNumber(idNumber);
    } catch {
      throw new BadRequest('invalid_request', 'id_number: not a valid resident ID number');
    }
    if (to === self) throw new Conflict('same_home', 'the account already lives here');
    // Organizations stay with their home, and a mandate here works only for a person who logs in here.
    if ((await this.o.legalPersons.mandatesOf(accounts.idNumberIndex(idNumber))).length > 0) {
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
    const account = await accounts.beginMove(idNumber);
    if (!account) throw new NotFound('no active account with this ID number here');
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
        timeoutMs: TIMEOUT_MS,
      });
    } catch (err) {
      await accounts.abortMove(account.subject);
      throw err;
    }
    if (answer.status !== 200 && answer.status !== 201) {
      await accounts.abortMove(account.subject);
      const reason = typeof answer.json.error_description === 'string' ? answer.json.error_description : `HTTP ${answer.status}`;
      throw answer.status === 409
        ? new Conflict('home_conflict', `${to} refused the account: ${reason}`)
        : new UpstreamUnavailable(`${to} refused the account: ${reason}`);
    }
    await accounts.completeMove(account, to, self);
    await this.o.sessions.endSessionsOf(account.subject);
    return { subject: String(answer.json.subject ?? '') };
  }
}
