-- The population registry (人口库), demo edition: persons with their ID number and phone,
-- encrypted at rest and found through blind indexes.
CREATE TABLE persons (
  id_number_index  text PRIMARY KEY,
  id_number_enc    text NOT NULL,
  name             text NOT NULL,
  phone_enc        text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- Messages that stand in for an SMS gateway: what an OP sent, readable in demo mode.
CREATE TABLE message_outbox (
  id           bigserial PRIMARY KEY,
  to_index     text NOT NULL,
  to_enc       text NOT NULL,
  body         text NOT NULL,
  sender       text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_outbox_to ON message_outbox (to_index, id);
