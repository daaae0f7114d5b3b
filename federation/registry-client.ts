/**
 * An entity's client of the registry of homes: lookups climb city → province → national (a broker
 * answers from its own registry first), publications go to the direct superior. Every call is
 * authenticated with an entity assertion and bounded in time; the identifier travels only in the
 * JSON body and never appears in an error.
 */
import type { PrivateJwk } from '../infra/entity-keys.ts';
import { postAsEntity } from '../infra/entity-request.ts';
import { UpstreamUnavailable } from '../infra/errors.ts';
import { HomeConflict, type HomeKind, type HomeRegistry } from './registry-of-homes.ts';
import type { Publication } from './registry-outbox.ts';

export const REGISTRY_LOOKUP_PATH = '/registry/lookup';
export const REGISTRY_HOMES_PATH = '/registry/homes';

export interface RegistryClientOptions {
  /** This entity's ID. */
  self: string;
  /** The direct superior's entity ID; null at the trust anchor. */
  superior: string | null;
  signingKey: () => PrivateJwk;
  /** This entity's own registry, on brokers. */
  local: HomeRegistry | null;
  timeoutMs?: number;
}

export class RegistryClient {
  readonly superior: string | null;

  constructor(private readonly opts: RegistryClientOptions) {
    this.superior = opts.superior;
  }

  /** The home of an identifier, or null when no registry up the chain knows it. */
  async lookup(kind: HomeKind, identifier: string): Promise<string | null> {
    const local = await this.opts.local?.lookup(kind, identifier);
    if (local) return local;
    if (!this.superior) return null;
    const { status, json } = await this.post(this.superior, REGISTRY_LOOKUP_PATH, { kind, identifier });
    if (status !== 200) throw this.refused(this.superior, status, json);
    if (json.home !== null && typeof json.home !== 'string')
      throw new UpstreamUnavailable(`the registry of ${this.superior} gave a malformed answer`);
    return json.home;
  }

  /** Resolves once the superior acknowledged; the publisher's `deliver`. */
  async publish(p: Publication): Promise<void> {
    if (!this.superior) throw new Error(`${this.opts.self} has no superior to publish homes to`);
    const { status, json } = await this.post(this.superior, REGISTRY_HOMES_PATH, {
      kind: p.kind,
      identifier: p.identifier,
      home: p.home,
      previous_home: p.previousHome,
    });
    if (status >= 200 && status < 300) return;
    if (status === 409 && json.error === 'home_conflict' && typeof json.home === 'string') throw new HomeConflict(json.home);
    throw this.refused(this.superior, status, json);
  }

  private post(to: string, path: string, body: unknown) {
    return postAsEntity({ from: this.opts.self, key: this.opts.signingKey(), to, path, body, timeoutMs: this.opts.timeoutMs ?? 3000 });
  }

  /** Only the status and the error code: a description could echo the request. */
  private refused(superior: string, status: number, json: Record<string, unknown>): UpstreamUnavailable {
    return new UpstreamUnavailable(
      `the registry of ${superior} answered ${status}${typeof json.error === 'string' ? ` ${json.error.slice(0, 64)}` : ''}`,
    );
  }
}
