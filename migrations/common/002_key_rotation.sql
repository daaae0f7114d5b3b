-- Key rotation without downtime: a new key is published before it signs (activates_at), and the
-- key it replaces stays published for verification until retired_at, then is only listed among
-- the historical keys.
ALTER TABLE entity_keys ADD COLUMN activates_at timestamptz;
UPDATE entity_keys SET activates_at = created_at;
ALTER TABLE entity_keys ALTER COLUMN activates_at SET NOT NULL;
ALTER TABLE entity_keys ALTER COLUMN activates_at SET DEFAULT now();
