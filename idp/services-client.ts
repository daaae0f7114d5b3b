/**
 * The OP's client of the services entity (population registry, message outbox). Every call is
 * authenticated with an entity assertion and bounded in time.
 */
import type { PrivateJwk } from '../infra/entity-keys.ts';
import { postAsEntity } from '../infra/entity-request.ts';
import { UpstreamUnavailable } from '../infra/errors.ts';

const TIMEOUT_MS = 5000;

export class ServicesClient {
  constructor(
    private readonly self: string,
    private readonly servicesUrl: string,
    private readonly entityKey: () => PrivateJwk,
  ) {}

  private async post(path: string, body: unknown): Promise<Record<string, unknown>> {
    const { status, json } = await postAsEntity({
      from: this.self,
      key: this.entityKey(),
      to: this.servicesUrl,
      path,
      body,
      timeoutMs: TIMEOUT_MS,
    });
    if (status < 200 || status >= 300) throw new UpstreamUnavailable(`services entity answered ${status} ${String(json.error ?? '')}`);
    return json;
  }

  /** True only when the population registry holds this ID number under this name. */
  async verifyPerson(name: string, idNumber: string): Promise<boolean> {
    return (await this.post('/population/verify', { name, id_number: idNumber })).match === true;
  }

  /** What the legal-person registry says of an organization and a would-be representative. */
  async checkRepresentative(
    uscc: string,
    orgName: string,
    name: string,
    idNumber: string,
  ): Promise<{ found: boolean; nameMatches: boolean; representative: boolean; type: string | null }> {
    const r = await this.post('/legal-persons/verify', {
      uscc,
      org_name: orgName,
      representative_name: name,
      representative_id_number: idNumber,
    });
    return {
      found: r.found === true,
      nameMatches: r.name_matches === true,
      representative: r.representative === true,
      type: typeof r.type === 'string' ? r.type : null,
    };
  }

  async sendMessage(to: string, body: string): Promise<void> {
    await this.post('/messages', { to, body });
  }
}
