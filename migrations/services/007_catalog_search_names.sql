-- Faster search (issue 13, docs/performance.md):
-- - the tokens of an item's names (its name, weight A; the directory's name and common names,
--   weight B) apart from those of its whole guide, so that the name tier of a search reads a small
--   vector its GIN index answers without rechecking every row's full vector;
-- - an index on name length, which a one-character query walks in order (shortest names first)
--   instead of ranking every item that has the character;
-- - the distinct names of the catalog (an item keeps its name in every region, so there are few),
--   which a typo is compared with (pg_trgm's word_similarity, costly for Chinese) once each.
ALTER TABLE catalog_published ADD COLUMN name_tokens tsvector;
UPDATE catalog_published SET name_tokens = ts_filter(search_tokens, '{a,b}');
ALTER TABLE catalog_published ALTER COLUMN name_tokens SET NOT NULL;
CREATE INDEX catalog_published_name_tokens ON catalog_published USING gin (name_tokens);
CREATE INDEX catalog_published_short_names ON catalog_published (length(name), item_code);
CREATE INDEX catalog_published_name ON catalog_published (name);

CREATE TABLE catalog_names (
  name    text PRIMARY KEY,
  tokens  tsvector NOT NULL    -- the name's own tokens, unweighted
);
INSERT INTO catalog_names (name, tokens)
  SELECT DISTINCT ON (name) name, strip(ts_filter(search_tokens, '{a}')) FROM catalog_published ORDER BY name;
