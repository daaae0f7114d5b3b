-- Real-name natural-person accounts whose home is this OP. The ID number and phone are stored
-- encrypted; lookups go through keyed blind indexes. `subject` is the opaque, stable `sub`.
CREATE TABLE natural_persons (
  subject          text PRIMARY KEY,
  name             text NOT NULL,
  id_number_enc    text NOT NULL,
  id_number_index  text NOT NULL UNIQUE,
  phone_enc        text NOT NULL,
  phone_index      text NOT NULL UNIQUE,
  password_hash    text NOT NULL,
  loa              text NOT NULL CHECK (loa IN ('loa1', 'loa2', 'loa3')),
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
