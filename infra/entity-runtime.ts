/**
 * What every hosted entity is given: its identity, its own storage and keys. Built by the host
 * (cli/entity-host.ts) from the topology and configuration; components receive it and never
 * reach for globals.
 */
import type { Database, Queryable } from './database.ts';
import type { KeyValueStore } from './key-value-store.ts';
import type { Logger } from './log.ts';
import type { EntityKeyRing } from './entity-key-ring.ts';
import type { EntityMetrics } from './metrics.ts';
import { BlindIndex, deriveKey, FieldCipher, hmac } from './crypto.ts';

export interface EntityIdentity {
  id: string;
  url: string;
  name: { 'zh-CN': string; en: string };
}

export interface EntityRuntime {
  self: EntityIdentity;
  db: Database;
  /**
   * Where reads that may be a few seconds stale go (catalog search, public rating figures): a
   * streaming replica while one is caught up, else `db` (infra/read-replicas.ts). Logins, tokens,
   * registration and every read that follows a write of its own use `db`.
   */
  reads: Queryable;
  /** Scoped to this entity. */
  kv: KeyValueStore;
  log: Logger;
  /** Encrypts personal data in this entity's tables. */
  cipher: FieldCipher;
  /** Blind indexes of this entity's personal data. */
  blindIndex: BlindIndex;
  /** Key for CSRF tokens and other MACs that never leave this entity. */
  macKey: Buffer;
  /** Keys for oidc-provider cookies. */
  cookieKeys: string[];
  /** Bearer token for this entity's admin API. */
  adminToken: string;
  /** The federation keys this entity authenticates itself and signs its statements with. */
  keyRing: EntityKeyRing;
  /** This entity's Prometheus metrics (served at /metrics). */
  metrics: EntityMetrics;
  /** Demo-only endpoints (synthetic data, readable outbox) are served when true. */
  demo: boolean;
}

export function deriveEntitySecrets(master: Buffer, entityUrl: string) {
  return {
    cipher: new FieldCipher(deriveKey(master, entityUrl, 'field-encryption')),
    blindIndex: new BlindIndex(deriveKey(master, entityUrl, 'blind-index')),
    macKey: deriveKey(master, entityUrl, 'mac'),
    cookieKeys: [deriveKey(master, entityUrl, 'cookies').toString('base64url')],
    adminToken: adminTokenFor(master, entityUrl),
  };
}

export function adminTokenFor(master: Buffer, entityUrl: string): string {
  return hmac(deriveKey(master, entityUrl, 'admin-api'), 'admin');
}
