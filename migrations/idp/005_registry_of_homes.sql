-- Registry of homes (互认目录), kept by brokers: the blind index of an ID number (natural) or USCC
-- (legal), keyed with this broker's own key, to the home entity and to the direct subordinate that
-- published it (`via`; the broker itself for its own registrations). Nationally about 1.6 billion
-- rows: hash-partitioned by the blind index, so a lookup or an insert touches one partition.
CREATE TABLE home_registry (
  kind           text NOT NULL CHECK (kind IN ('natural', 'legal')),
  blind_index    text NOT NULL,
  home           text NOT NULL,
  via            text NOT NULL,
  registered_at  timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, blind_index)
) PARTITION BY HASH (blind_index);
CREATE TABLE home_registry_p0 PARTITION OF home_registry FOR VALUES WITH (MODULUS 8, REMAINDER 0);
CREATE TABLE home_registry_p1 PARTITION OF home_registry FOR VALUES WITH (MODULUS 8, REMAINDER 1);
CREATE TABLE home_registry_p2 PARTITION OF home_registry FOR VALUES WITH (MODULUS 8, REMAINDER 2);
CREATE TABLE home_registry_p3 PARTITION OF home_registry FOR VALUES WITH (MODULUS 8, REMAINDER 3);
CREATE TABLE home_registry_p4 PARTITION OF home_registry FOR VALUES WITH (MODULUS 8, REMAINDER 4);
CREATE TABLE home_registry_p5 PARTITION OF home_registry FOR VALUES WITH (MODULUS 8, REMAINDER 5);
CREATE TABLE home_registry_p6 PARTITION OF home_registry FOR VALUES WITH (MODULUS 8, REMAINDER 6);
CREATE TABLE home_registry_p7 PARTITION OF home_registry FOR VALUES WITH (MODULUS 8, REMAINDER 7);

-- Publications to the superior broker, written in the same transaction as the account or entry
-- they announce and deleted once acknowledged. The identifier is encrypted (it must reach the
-- superior, which indexes it with its own key); `identifier_index` (this entity's blind index)
-- only keeps the publications of one identifier in order.
CREATE TABLE registry_outbox (
  id                bigserial PRIMARY KEY,
  kind              text NOT NULL CHECK (kind IN ('natural', 'legal')),
  identifier_index  text NOT NULL,
  identifier_enc    text NOT NULL,
  home              text NOT NULL,
  previous_home     text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  attempts          int NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  last_error        text
);
CREATE INDEX registry_outbox_due ON registry_outbox (next_attempt_at);
CREATE INDEX registry_outbox_identifier ON registry_outbox (kind, identifier_index, id);
