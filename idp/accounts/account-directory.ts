/**
 * Which kind of account a subject of this OP is — a natural person registered here, a legal
 * person registered here, or a recognized account whose home is elsewhere — and the account.
 * oidc-provider and the interaction policy ask this many times per login; a subject's kind is
 * remembered so that the next lookup goes to the right table first (one query instead of three).
 * The memory is only a hint: when the hinted table no longer has the subject (a recognized
 * account became a local one by relocation), every table is asked again. Within one request of
 * oidc-provider (`currentRequest`), whose hooks ask about the same subject several times (the
 * account's claims, whether it is an organization), the answer itself is kept: one query per
 * request, a change counting from the next.
 */
import { naturalPersonFromJson, naturalPersonJson, type NaturalPerson, type NaturalPersonAccounts } from './natural-person-accounts.ts';
import type { LegalPerson, LegalPersonAccounts } from './legal-person-accounts.ts';
import { recognizedAccountJson, type RecognizedAccount, type RecognizedAccounts } from './recognized-accounts.ts';

export type FoundAccount =
  { kind: 'natural'; person: NaturalPerson } | { kind: 'legal'; legal: LegalPerson } | { kind: 'recognized'; account: RecognizedAccount };
type Kind = FoundAccount['kind'];

const KINDS: Kind[] = ['natural', 'legal', 'recognized'];
const REMEMBERED = 10_000;

/**
 * The natural person (active) or recognized account whose subject is the SQL expression
 * `subject`, as one JSON value, `{"natural": …}` or `{"recognized": …}`, null for any other (a
 * legal person's lookup depends on the grant): for a statement that reads the account along with
 * the grant or refresh token naming it (idp/oidc/artifact-adapter.ts ReadWithAccount).
 * `AccountDirectory.readInThisRequest` takes it.
 */
export const accountJson = (subject: string) =>
  `(SELECT CASE WHEN n.j IS NOT NULL THEN json_build_object('natural', n.j) WHEN r.j IS NOT NULL THEN json_build_object('recognized', r.j) END
    FROM (SELECT ${naturalPersonJson(subject)} AS j) n, (SELECT ${recognizedAccountJson(subject)} AS j) r)`;

export class AccountDirectory {
  private readonly kinds = new Map<string, Kind>();
  private readonly perRequest = new WeakMap<object, Map<string, Promise<FoundAccount | null>>>();

  constructor(
    private readonly naturals: NaturalPersonAccounts,
    private readonly legals: LegalPersonAccounts,
    private readonly recognized: RecognizedAccounts,
    private readonly currentRequest: () => object | undefined = () => undefined,
  ) {}

  private async load(kind: Kind, subject: string): Promise<FoundAccount | null> {
    if (kind === 'natural') {
      const person = await this.naturals.findBySubject(subject);
      return person && { kind, person };
    }
    if (kind === 'legal') {
      const legal = await this.legals.findBySubject(subject);
      return legal && { kind, legal };
    }
    const account = await this.recognized.findBySubject(subject);
    return account && { kind, account };
  }

  find(subject: string): Promise<FoundAccount | null> {
    const request = this.currentRequest();
    if (!request) return this.lookup(subject);
    let answers = this.perRequest.get(request);
    if (!answers) this.perRequest.set(request, (answers = new Map()));
    let found = answers.get(subject);
    if (!found) answers.set(subject, (found = this.lookup(subject)));
    return found;
  }

  /**
   * An account read along with something else in the request oidc-provider is serving (the
   * refresh token or grant naming it), as `accountJson` gave it: this request's lookups of the
   * subject find it without a query.
   */
  readInThisRequest(subject: string, json: unknown): void {
    const request = this.currentRequest();
    if (!request) return;
    const read = (json ?? {}) as { natural?: unknown; recognized?: unknown };
    const found: FoundAccount | null = read.natural
      ? { kind: 'natural', person: naturalPersonFromJson(read.natural) }
      : read.recognized
        ? { kind: 'recognized', account: this.recognized.fromJson(read.recognized) }
        : null;
    if (!found) return;
    let answers = this.perRequest.get(request);
    if (!answers) this.perRequest.set(request, (answers = new Map()));
    if (!answers.has(subject)) answers.set(subject, Promise.resolve(found));
  }

  private async lookup(subject: string): Promise<FoundAccount | null> {
    const hinted = this.kinds.get(subject);
    for (const kind of hinted ? [hinted, ...KINDS.filter((k) => k !== hinted)] : KINDS) {
      const found = await this.load(kind, subject);
      if (!found) continue;
      this.kinds.delete(subject);
      this.kinds.set(subject, kind);
      if (this.kinds.size > REMEMBERED) this.kinds.delete(this.kinds.keys().next().value!);
      return found;
    }
    return null;
  }

  /** An organization (registered here or recognized): its sessions act for it, not for a person. */
  async isLegal(subject: string): Promise<boolean> {
    const found = await this.find(subject);
    return found?.kind === 'legal' || (found?.kind === 'recognized' && found.account.kind === 'legal');
  }
}
