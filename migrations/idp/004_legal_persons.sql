-- Legal-person accounts (法人) whose home is this OP, and who may act for them: the legal
-- representative (法定代表人) and the agents (经办人) authorized by ID number (blind index), each
-- with a role, service categories and an expiry. Revocation keeps the row (revoked_at).
CREATE TABLE legal_persons (
  subject                 text PRIMARY KEY,
  uscc_enc                text NOT NULL,
  uscc_index              text NOT NULL UNIQUE,
  org_name                text NOT NULL,
  org_type                text,
  representative_subject  text NOT NULL REFERENCES natural_persons (subject),
  status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_authorizations (
  id                  text PRIMARY KEY,
  legal_subject       text NOT NULL REFERENCES legal_persons (subject),
  agent_index         text NOT NULL,
  agent_name          text NOT NULL,
  role                text NOT NULL CHECK (role IN ('representative', 'admin', 'agent')),
  service_categories  jsonb NOT NULL DEFAULT '[]'::jsonb,
  expires_at          timestamptz,
  granted_by          text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  revoked_at          timestamptz,
  revoked_by          text
);
-- One live authorization per person and organization.
CREATE UNIQUE INDEX agent_authorizations_live ON agent_authorizations (legal_subject, agent_index) WHERE revoked_at IS NULL;
CREATE INDEX agent_authorizations_agent ON agent_authorizations (agent_index) WHERE revoked_at IS NULL;

-- Who acts in a legal-person authorization: each time a person picks an organization at login,
-- a grant of its own is created and bound here to the acting natural person and the mandate.
CREATE TABLE grant_actors (
  grant_id          text PRIMARY KEY,
  legal_subject     text NOT NULL REFERENCES legal_persons (subject),
  actor_subject     text NOT NULL REFERENCES natural_persons (subject),
  authorization_id  text NOT NULL REFERENCES agent_authorizations (id),
  expires_at        timestamptz NOT NULL
);
