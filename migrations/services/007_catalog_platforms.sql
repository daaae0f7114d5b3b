-- A catalog per platform (issue 13): each services entity keeps the items of its own platform's
-- authorities and holds copies of its superior platforms' items, pulled over HTTP from the feed of
-- the superior platform's services entity (docs/catalog.md, "Platforms and the feed").

-- NULL: the item is this platform's own; else the code of the platform that owns it (held here).
ALTER TABLE catalog_items ADD COLUMN held_from text;
CREATE INDEX catalog_items_own_refining ON catalog_items (basic_code) WHERE held_from IS NULL AND kind = 'implementation';

-- A held version keeps the number it has at its own platform; its origin says it came by the feed.
ALTER TABLE catalog_versions DROP CONSTRAINT catalog_versions_origin_check;
ALTER TABLE catalog_versions ADD CONSTRAINT catalog_versions_origin_check
  CHECK (origin IN ('import', 'change', 'propagation', 'feed'));

-- The feed: every published version in the order it was published. Publications take a
-- transaction-scoped lock before drawing their number (catalog-store.ts), so numbers commit in
-- order and a reader that has seen N never misses a smaller one.
CREATE SEQUENCE catalog_feed_seq;
ALTER TABLE catalog_published ADD COLUMN feed_seq bigint;
UPDATE catalog_published p SET feed_seq = n.seq
  FROM (SELECT version_id, row_number() OVER (ORDER BY version_id) AS seq FROM catalog_published) n
  WHERE p.version_id = n.version_id;
SELECT setval('catalog_feed_seq', coalesce((SELECT max(feed_seq) FROM catalog_published), 0) + 1, false);
ALTER TABLE catalog_published ALTER COLUMN feed_seq SET DEFAULT nextval('catalog_feed_seq'),
  ALTER COLUMN feed_seq SET NOT NULL;
ALTER SEQUENCE catalog_feed_seq OWNED BY catalog_published.feed_seq;
CREATE UNIQUE INDEX catalog_published_feed ON catalog_published (feed_seq);

-- How far this services entity has read the feed of each platform it pulls from.
CREATE TABLE catalog_feed_cursors (
  source      text PRIMARY KEY,            -- the entity ID of the superior platform's services entity
  after_seq   bigint NOT NULL DEFAULT 0,   -- the last feed number applied
  pulled_at   timestamptz
);
