/**
 * What asking, rating and the person's space share with the cases they build on: the cases'
 * dependencies (storage, keys, the legal clock and its working calendar, the catalog, notices
 * through the outbox, the injected time), the staff grants (answerer, rectifier and supervisor
 * are roles in the same grants), the key-value store (rate limits) and where e-licences are read.
 */
import type { Queryable } from '../../infra/database.ts';
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import type { CaseDeps } from '../cases/case-context.ts';
import type { StaffGrants } from '../cases/staff-grants.ts';
import type { LicenceShelf } from '../my-space/licence-shelf.ts';

export interface VoiceDeps extends CaseDeps {
  staff: StaffGrants;
  kv: KeyValueStore;
  licences: LicenceShelf;
  /**
   * Where what anyone may read is read (public rating figures, an item's FAQ): the entity's
   * lag-tolerant reads, which a new rating or answer may reach a few seconds late.
   */
  publicReads: Queryable;
}
