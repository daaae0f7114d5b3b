-- Consents to the data-sharing exchange (docs/exchange.md): what a person (or, for an
-- organization, its representative or an authorized agent) allowed which requesting authority
-- to read, from which node, for which purpose and item or case; once, or for a period. The ID of
-- a consent travels in the access tokens it gave; the holding node asks here on every request
-- whether it still stands, so a revocation stops the next request.
CREATE TABLE data_consents (
  id              text PRIMARY KEY,
  -- The account whose data it is (a natural person, or an organization), by its subject here.
  account_subject text NOT NULL,
  subject_kind    text NOT NULL CHECK (subject_kind IN ('natural', 'legal')),
  -- This OP's blind index of the ID number or USCC: a request for another's data is refused.
  subject_index   text NOT NULL,
  -- Who gave it for an organization (the acting person's subject); null for a person's own data.
  actor_subject   text,
  client_id       text NOT NULL,
  -- The gov-id:data-access authorization detail consented to (infra/data-access-detail.ts).
  detail          jsonb NOT NULL,
  mode            text NOT NULL CHECK (mode IN ('once', 'period')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  used_at         timestamptz,
  revoked_at      timestamptz,
  CHECK (mode = 'once' OR used_at IS NULL)
);
CREATE INDEX data_consents_account ON data_consents (account_subject, created_at DESC);
