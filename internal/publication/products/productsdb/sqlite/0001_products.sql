-- What each organisation says it runs (products.Declaration). The
-- declarations go with their organisation. ident is the declaration's
-- kind and identifier in lower case, unique per organisation, so that a
-- product is declared once; product_key is the normalised product name
-- that advisories are matched by.
CREATE TABLE IF NOT EXISTS product_declarations (
	id          INTEGER PRIMARY KEY,
	org_id      INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	ident       TEXT    NOT NULL,
	cpe         TEXT    NOT NULL,
	purl        TEXT    NOT NULL,
	vendor      TEXT    NOT NULL,
	product     TEXT    NOT NULL,
	version     TEXT    NOT NULL,
	product_key TEXT    NOT NULL,
	note        TEXT    NOT NULL,
	added       INTEGER NOT NULL, -- Unix microseconds
	added_by    TEXT    NOT NULL,
	UNIQUE (org_id, ident)
);
CREATE INDEX IF NOT EXISTS product_declarations_key ON product_declarations (product_key);

-- Which organisation was told of which revision of a publication: one
-- row each, written in the transaction that queues the message, so that
-- it is told once.
CREATE TABLE IF NOT EXISTS product_notices (
	publication_id INTEGER NOT NULL,
	revision       INTEGER NOT NULL,
	org_id         INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	told           INTEGER NOT NULL, -- Unix microseconds
	PRIMARY KEY (publication_id, revision, org_id)
);
