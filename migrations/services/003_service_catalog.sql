-- The service catalog (issue 13): directory items (目录清单) and implementation items (实施清单),
-- every item versioned. A version is a change: draft → submitted → approved | rejected; an
-- approved (published) or rejected version never changes again (trigger below).
-- pg_trgm lives in public, shared by every entity schema of the database (queries name it
-- public.*); the lock keeps two schemas migrating at once from racing to create it.
SELECT pg_advisory_xact_lock(hashtext('gov-id:extension:pg_trgm'));
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE catalog_authorities (
  code        text PRIMARY KEY,           -- the authority's unified social credit code
  name        text NOT NULL,
  tier        text NOT NULL CHECK (tier IN ('national', 'province', 'city')),
  region      text NOT NULL,              -- GB/T 2260 division code
  department  text NOT NULL               -- department code used in basic codes
);

CREATE TABLE catalog_items (
  code         text PRIMARY KEY,          -- basic code (directory) or implementing code
  kind         text NOT NULL CHECK (kind IN ('directory', 'implementation')),
  basic_code   text NOT NULL,
  parent_code  text REFERENCES catalog_items (code),
  owner        text NOT NULL REFERENCES catalog_authorities (code),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_items_basic_code ON catalog_items (basic_code);

CREATE TABLE catalog_versions (
  id                bigserial PRIMARY KEY,  -- the change id
  item_code         text NOT NULL REFERENCES catalog_items (code),
  version           integer NOT NULL,
  state             text NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'rejected')),
  origin            text NOT NULL CHECK (origin IN ('import', 'change', 'propagation')),
  content           jsonb NOT NULL,
  effective_from    date NOT NULL,
  flags             jsonb NOT NULL DEFAULT '[]'::jsonb,
  author_authority  text NOT NULL,
  author            text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  submitted_at      timestamptz,
  reviewer_authority text,
  reviewer          text,
  reviewed_at       timestamptz,
  review_note       text,
  UNIQUE (item_code, version)
);
CREATE INDEX catalog_versions_approved ON catalog_versions (item_code, effective_from DESC, version DESC) WHERE state = 'approved';
-- An item has at most one open change.
CREATE UNIQUE INDEX catalog_versions_open ON catalog_versions (item_code) WHERE state IN ('draft', 'submitted');

-- Published versions as search and browsing read them: one row per approved version with the
-- days it is in force, [valid_from, valid_until), kept by the application when an item gets a new
-- approved version, so finding what is in force today needs no scan of every version.
CREATE TABLE catalog_published (
  version_id     bigint PRIMARY KEY REFERENCES catalog_versions (id),
  item_code      text NOT NULL REFERENCES catalog_items (code),
  version        integer NOT NULL,
  name           text NOT NULL,
  search_tokens  tsvector NOT NULL,
  facets         jsonb NOT NULL,          -- what browsing filters on (tier, authority, topics ...), matched with @>
  valid_from     date NOT NULL,
  valid_until    date
);
CREATE INDEX catalog_published_item ON catalog_published (item_code, valid_from, version);
CREATE INDEX catalog_published_current ON catalog_published (valid_until, valid_from);
CREATE INDEX catalog_published_tokens ON catalog_published USING gin (search_tokens);
CREATE INDEX catalog_published_facets ON catalog_published USING gin (facets jsonb_path_ops);
CREATE INDEX catalog_published_name_trgm ON catalog_published USING gin (name public.gin_trgm_ops);

CREATE FUNCTION catalog_version_is_published() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state IN ('approved', 'rejected') THEN
    RAISE EXCEPTION 'catalog version % of % is %: it never changes', OLD.version, OLD.item_code, OLD.state;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.state <> 'draft' AND NEW.content IS DISTINCT FROM OLD.content THEN
    RAISE EXCEPTION 'catalog version % of % is %: only a draft is edited', OLD.version, OLD.item_code, OLD.state;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER catalog_versions_published BEFORE UPDATE OR DELETE ON catalog_versions
  FOR EACH ROW EXECUTE FUNCTION catalog_version_is_published();
