-- Cross-region handling (收受分离, issue 15; docs/cases.md "Cross-region"): a platform receives an
-- application for an item another platform handles, checks it, and hands it over; both keep the
-- signed hand-off. The receiving side keeps a case in state handed_off that reads the handling
-- side's case; the handling side keeps the whole case under the same number.
ALTER TABLE cases DROP CONSTRAINT cases_state_check;
ALTER TABLE cases ADD CONSTRAINT cases_state_check CHECK (state IN ('received', 'correction_requested', 'under_review', 'suspended',
  'reviewed', 'decided', 'result_made', 'delivered', 'published', 'closed', 'handed_off'));
-- An item another platform handles: the version in force there when the case was received.
ALTER TABLE cases ADD COLUMN item_snapshot jsonb;
-- The receiving side: the services entity that handles the case (and decides).
ALTER TABLE cases ADD COLUMN handled_by text;
-- The handling side: the services entity that received the application.
ALTER TABLE cases ADD COLUMN received_by text;

CREATE TABLE case_handoffs (
  number     text PRIMARY KEY,
  direction  text NOT NULL CHECK (direction IN ('sent', 'received')),
  peer       text NOT NULL,                -- the other services entity
  handoff    text NOT NULL,                -- the hand-off as the receiving side signed it (JWS)
  digest     text NOT NULL,                -- sha-256 of the hand-off
  receipt    text NOT NULL,                -- the handling side's signed acknowledgement (JWS)
  at         timestamptz NOT NULL DEFAULT now()
);
