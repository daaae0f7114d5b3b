-- Long-lived oidc-provider artifacts (grants, refresh tokens); short-lived ones live in the
-- key-value store.
CREATE TABLE oidc_artifacts (
  model        text NOT NULL,
  id           text NOT NULL,
  payload      jsonb NOT NULL,
  grant_id     text,
  expires_at   timestamptz,
  consumed_at  timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX oidc_artifacts_grant ON oidc_artifacts (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_artifacts_expiry ON oidc_artifacts (expires_at) WHERE expires_at IS NOT NULL;

-- Clients registered explicitly by an administrator. The secret is encrypted at rest.
CREATE TABLE oidc_clients (
  client_id         text PRIMARY KEY,
  metadata          jsonb NOT NULL,
  client_secret_enc text,
  created_at        timestamptz NOT NULL DEFAULT now()
);
