-- Leases of outbox rows belong to one publisher instance (`lease_owner`, a random key that the
-- instance holds as a session advisory lock while it lives): a restarted process reclaims the rows
-- of a dead one at once and respects those of a live peer. `next_attempt_at` is the end of the
-- lease while `lease_owner` is set.
-- A publication the superior refused because the identifier has another home is not retried: it
-- is kept as a conflict (`conflict_home`, `conflict_at`) for the operators to resolve.
ALTER TABLE registry_outbox ADD COLUMN lease_owner bigint;
ALTER TABLE registry_outbox ADD COLUMN conflict_home text;
ALTER TABLE registry_outbox ADD COLUMN conflict_at timestamptz;
CREATE INDEX registry_outbox_conflicts ON registry_outbox (conflict_at) WHERE conflict_at IS NOT NULL;
