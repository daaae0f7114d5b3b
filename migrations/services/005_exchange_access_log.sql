-- The data-sharing node's access log (docs/exchange.md): one entry per data request this node
-- served, refused or made, hash-chained like audit_log (each hash covers the previous one) and
-- signed one by one with the node's federation key, so that an auditor outside the node can
-- check it. Updates, deletes and truncation are refused outright.
CREATE TABLE exchange_access_log (
  seq            bigint PRIMARY KEY,
  -- Whose data: this node's blind index of the ID number or USCC (null when the request named none that parses).
  subject_index  text,
  entry          jsonb NOT NULL,
  prev_hash      text NOT NULL,
  hash           text NOT NULL,
  -- Compact JWS by the node's federation key over {iss, seq, hash}.
  signature      text NOT NULL
);
CREATE INDEX exchange_access_log_subject ON exchange_access_log (subject_index, seq);

CREATE FUNCTION exchange_access_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'exchange_access_log is append-only';
END
$$;

CREATE TRIGGER exchange_access_log_no_change BEFORE UPDATE OR DELETE ON exchange_access_log
  FOR EACH ROW EXECUTE FUNCTION exchange_access_log_is_append_only();
CREATE TRIGGER exchange_access_log_no_truncate BEFORE TRUNCATE ON exchange_access_log
  FOR EACH STATEMENT EXECUTE FUNCTION exchange_access_log_is_append_only();
