-- Recognized accounts (互认账号): the link a visited OP keeps for a person or organization whose
-- home is another OP of the federation. No credentials: only the claims last received from
-- home (encrypted), the home, and the neighbour OP the login came through with its subject there.
CREATE TABLE recognized_accounts (
  subject           text PRIMARY KEY,
  kind              text NOT NULL CHECK (kind IN ('natural', 'legal')),
  -- Blind index of the ID number (natural) or USCC (legal) with this OP's own key.
  identifier_index  text NOT NULL,
  home              text NOT NULL,
  upstream          text NOT NULL,
  upstream_subject  text NOT NULL,
  claims_enc        text NOT NULL,
  loa               text NOT NULL CHECK (loa IN ('loa1', 'loa2', 'loa3')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, identifier_index)
);
CREATE INDEX recognized_accounts_upstream ON recognized_accounts (upstream, upstream_subject);

-- Who acts for a recognized organization in one authorization: the acting person's claims as the
-- organization's home asserted them, bound to the grant this OP created for that login.
CREATE TABLE recognized_grant_actors (
  grant_id        text PRIMARY KEY,
  legal_subject   text NOT NULL REFERENCES recognized_accounts (subject) ON DELETE CASCADE,
  actor_claims_enc text NOT NULL,
  expires_at      timestamptz NOT NULL
);
