-- Applications and cases under the legal clock (issue 15; docs/cases.md). A case is pinned to the
-- catalog item version in force when it was received; its state moves only through the lifecycle
-- table of services/cases/case-lifecycle.ts. Personal data (the applicant's name, ID number and
-- phone, a staff member's ID number, uploaded materials) is encrypted; people are found through
-- blind indexes.

-- Each platform numbers its own cases per day (case-numbers.ts).
CREATE TABLE case_number_counters (
  day   date PRIMARY KEY,
  last  integer NOT NULL
);

-- Staff roles, granted by an implementing authority's admin to a real-name person.
CREATE TABLE case_staff_grants (
  id             bigserial PRIMARY KEY,
  person_index   text NOT NULL,              -- blind index of the ID number
  id_number_enc  text NOT NULL,
  authority      text NOT NULL,              -- the implementing authority's code (catalog_authorities)
  tier           text NOT NULL CHECK (tier IN ('national', 'province', 'city')),
  role           text NOT NULL CHECK (role IN ('receiver', 'acceptor', 'reviewer', 'decider', 'sender')),
  granted_by     text NOT NULL,
  granted_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at     timestamptz
);
CREATE UNIQUE INDEX case_staff_grants_live ON case_staff_grants (person_index, authority, role) WHERE revoked_at IS NULL;

CREATE TABLE cases (
  id                    bigserial PRIMARY KEY,
  number                text NOT NULL UNIQUE,
  platform              text NOT NULL,       -- the receiving platform's code
  item_code             text NOT NULL,
  item_version          integer NOT NULL,
  item_name             text NOT NULL,
  authority             text NOT NULL,       -- the lead (implementing) authority
  state                 text NOT NULL CHECK (state IN ('received', 'correction_requested', 'under_review', 'suspended',
                          'reviewed', 'decided', 'result_made', 'delivered', 'published', 'closed')),
  outcome               text CHECK (outcome IN ('approved', 'refused', 'not_accepted', 'withdrawn')),
  outcome_reasons       text,
  applicant_index       text NOT NULL,       -- blind index of the applicant's ID number
  applicant_enc         text NOT NULL,       -- {name, id_number, phone}
  applicant_issuer      text NOT NULL,       -- the OP that logged the applicant in
  applicant_subject     text NOT NULL,
  client_id             text NOT NULL,       -- the portal the application came through
  acr                   text,
  delivery              text NOT NULL CHECK (delivery IN ('electronic', 'mail', 'pickup')),
  delivery_address_enc  text,
  idempotency_key       text NOT NULL,
  request_digest        text NOT NULL,       -- what was submitted under the key: a retry must match
  query_code_hash       text NOT NULL,
  on_the_spot           boolean NOT NULL,
  publication_required  boolean NOT NULL,
  review_methods        jsonb NOT NULL,      -- the methods the item names
  review_done           jsonb NOT NULL DEFAULT '[]'::jsonb,
  opinion_quorum        integer NOT NULL DEFAULT 0,
  legal_days            integer NOT NULL,
  promised_days         integer NOT NULL,
  extension_days        integer NOT NULL DEFAULT 0,
  extension_reason      text,
  received_at           timestamptz NOT NULL,
  received_on           date NOT NULL,
  accepted_on           date,
  deemed_accepted       boolean NOT NULL DEFAULT false,
  decided_on            date,
  decision_days         integer,             -- working days the decision took (suspensions excluded)
  decided_late          boolean,             -- after the promised limit (with any extension)
  delivered_on          date,
  closed_at             timestamptz,
  -- The limit running now (acceptance, decision or delivery) and its last day; null while the
  -- clock is stopped or after delivery. What the staff queue and supervision read.
  clock_phase           text CHECK (clock_phase IN ('acceptance', 'decision', 'delivery')),
  due_on                date,
  legal_due_on          date,
  result                jsonb,
  updated_at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (applicant_index, idempotency_key)
);
-- The staff queue reads, per (authority, state) its roles act in, the most urgent open cases first.
CREATE INDEX cases_open_queue ON cases (authority, state, due_on, id) WHERE state <> 'closed';
CREATE INDEX cases_applicant ON cases (applicant_index, received_at DESC);
CREATE INDEX cases_stats ON cases (authority, item_code);

-- Materials: uploads (staged by their owner before submission, then attached), and materials
-- taken from e-licenses or base registries through the exchange.
CREATE TABLE case_materials (
  id            bigserial PRIMARY KEY,
  upload_id     text NOT NULL UNIQUE,        -- what the applicant refers to it by
  owner_index   text NOT NULL,
  case_id       bigint REFERENCES cases (id),
  slot          integer,                      -- the item's material (index in its list)
  round         integer NOT NULL DEFAULT 0,   -- 0 at submission, n for the nth correction
  source        text NOT NULL CHECK (source IN ('upload', 'exchange')),
  media_type    text,
  size          integer,
  digest        text,                         -- sha-256 of the content, base64url
  content_enc   text,
  reference     text,                         -- an e-license or dataset reference (exchange)
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_materials_case ON case_materials (case_id, slot);

-- Each state a case passes through: when it started and ended, its deadline, and who ended it.
CREATE TABLE case_steps (
  id           bigserial PRIMARY KEY,
  case_id      bigint NOT NULL REFERENCES cases (id),
  state        text NOT NULL,
  started_at   timestamptz NOT NULL,
  ended_at     timestamptz,
  deadline     date,
  event        text,                          -- the event that ended it
  actor_role   text,
  actor        text,                          -- a staff grant's person index, 'applicant' or 'system'
  authority    text,
  note         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX case_steps_case ON case_steps (case_id, id);

CREATE TABLE case_suspensions (
  id        bigserial PRIMARY KEY,
  case_id   bigint NOT NULL REFERENCES cases (id),
  kind      text NOT NULL CHECK (kind IN ('correction', 'hearing', 'testing', 'expert_review')),
  reason    text NOT NULL,
  from_on   date NOT NULL,
  to_on     date,
  notice    jsonb                            -- a correction notice: everything missing, listed once
);
CREATE INDEX case_suspensions_case ON case_suspensions (case_id, id);
CREATE UNIQUE INDEX case_suspensions_open ON case_suspensions (case_id) WHERE to_on IS NULL;

-- Parallel approval (并联审批): one opinion per assisting authority, with its own deadline.
CREATE TABLE case_opinions (
  case_id     bigint NOT NULL REFERENCES cases (id),
  authority   text NOT NULL,
  due_on      date NOT NULL,
  opinion     text CHECK (opinion IN ('agree', 'disagree')),
  reason      text,
  given_at    timestamptz,
  given_by    text,
  PRIMARY KEY (case_id, authority)
);
CREATE INDEX case_opinions_pending ON case_opinions (authority, due_on) WHERE given_at IS NULL;

-- What the applicant is told at each step (their space shows it; the outbox sends it as SMS).
CREATE TABLE case_notices (
  id          bigserial PRIMARY KEY,
  case_id     bigint NOT NULL REFERENCES cases (id),
  kind        text NOT NULL,
  text        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_notices_case ON case_notices (case_id, id);

-- Each case's audit entries carry its number as their subject: the applicant reads who did what.
CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (subject, seq);
