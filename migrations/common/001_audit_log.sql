-- Append-only, hash-chained audit log: each row's hash covers the previous row's hash, so a
-- removed or edited row breaks the chain. Updates, deletes and truncation are refused outright.
CREATE TABLE audit_log (
  seq        bigint PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  event      text NOT NULL,
  subject    text,
  client_id  text,
  detail     jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash  text NOT NULL,
  hash       text NOT NULL
);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- Private keys of the entity (OIDC signing, request authentication), encrypted with the entity's
-- key-encryption key. Retired keys stay until their tokens have expired.
CREATE TABLE entity_keys (
  kid          text PRIMARY KEY,
  purpose      text NOT NULL,
  alg          text NOT NULL,
  private_jwk  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  retired_at   timestamptz
);
CREATE INDEX entity_keys_purpose ON entity_keys (purpose, created_at);
