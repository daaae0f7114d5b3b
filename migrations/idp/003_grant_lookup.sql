-- Finds a person's existing grant for a client, so consent given once is not asked again in a
-- new browser session (until the grant expires or is revoked by logout).
CREATE INDEX oidc_artifacts_grant_owner ON oidc_artifacts ((payload->>'accountId'), (payload->>'clientId')) WHERE model = 'Grant';
