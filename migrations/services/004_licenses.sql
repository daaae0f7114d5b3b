-- The e-license registry (电子证照库, docs/licenses.md): licences this services entity issued,
-- their token status lists, the custodial holder keys of Key Binding, and — at the national
-- node — the licence directory (证照目录). ID numbers and codes are encrypted at rest and found
-- through blind indexes; a licence's claims live only inside its encrypted credential.

-- Token status lists (draft-ietf-oauth-status-list): each licence owns one slot of one list.
CREATE TABLE license_status_lists (
  id          integer PRIMARY KEY,           -- the list's number in its URI
  capacity    integer NOT NULL CHECK (capacity > 0),
  used        integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE licenses (
  id                uuid PRIMARY KEY,          -- the licence number (jti)
  type              text NOT NULL,
  holder_kind       text NOT NULL CHECK (holder_kind IN ('natural', 'legal')),
  holder_index      text NOT NULL,             -- blind index of the holder's ID number or USCC
  status_list       integer NOT NULL REFERENCES license_status_lists (id),
  status_idx        integer NOT NULL,
  state             text NOT NULL CHECK (state IN ('valid', 'suspended', 'revoked')),
  state_reason      text,
  state_changed_at  timestamptz,
  valid_from        timestamptz NOT NULL,
  valid_until       timestamptz,               -- null: no expiry (a marriage certificate)
  issued_at         timestamptz NOT NULL DEFAULT now(),
  credential_enc    text NOT NULL,             -- the SD-JWT VC with every disclosure, encrypted
  UNIQUE (status_list, status_idx)
);
CREATE INDEX licenses_holder ON licenses (holder_index, issued_at DESC);
-- Only the slots that are not valid go into a status list token.
CREATE INDEX licenses_listed_state ON licenses (status_list) WHERE state <> 'valid';

-- The holder's Key Binding key, kept for the person by the platform (custodial: the portal's
-- pages work without scripts, so no key lives in the browser).
CREATE TABLE license_holder_keys (
  holder_index  text PRIMARY KEY,
  private_jwk   text NOT NULL,                 -- encrypted
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Directory entries on their way to the national directory, written with the licence.
CREATE TABLE license_directory_outbox (
  id           bigserial PRIMARY KEY,
  holder_kind  text NOT NULL CHECK (holder_kind IN ('natural', 'legal')),
  holder_enc   text NOT NULL,                  -- the ID number or USCC, encrypted
  type         text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  attempts     integer NOT NULL DEFAULT 0,
  last_error   text
);

-- The national licence directory: which platform holds which licence type of a holder, under
-- national's own blind index of the holder.
CREATE TABLE license_directory (
  holder_index  text NOT NULL,
  holder_kind   text NOT NULL CHECK (holder_kind IN ('natural', 'legal')),
  platform      text NOT NULL,                 -- the issuing entity's ID
  type          text NOT NULL,
  first_at      timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (holder_index, platform, type)
);
