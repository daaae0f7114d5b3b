-- The legal-person registry (法人库), demo edition: organizations with their unified social
-- credit code and legal representative. Codes and ID numbers are encrypted at rest and found
-- through blind indexes.
CREATE TABLE organizations (
  uscc_index                  text PRIMARY KEY,
  uscc_enc                    text NOT NULL,
  name                        text NOT NULL,
  org_type                    text NOT NULL,
  representative_name         text NOT NULL,
  representative_id_index     text NOT NULL,
  representative_id_enc       text NOT NULL,
  created_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organizations_representative ON organizations (representative_id_index);
