-- What each organisation says it runs (products.Declaration). The
-- declarations go with their organisation. ident is the declaration's
-- kind and identifier in lower case, unique per organisation, so that a
-- product is declared once; product_key is the normalised product name
-- that advisories are matched by.
CREATE TABLE IF NOT EXISTS product_declarations (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id      bigint      NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	ident       text        NOT NULL,
	cpe         text        NOT NULL,
	purl        text        NOT NULL,
	vendor      text        NOT NULL,
	product     text        NOT NULL,
	version     text        NOT NULL,
	product_key text        COLLATE "C" NOT NULL,
	note        text        NOT NULL,
	added       timestamptz NOT NULL,
	added_by    text        NOT NULL,
	UNIQUE (org_id, ident)
);
CREATE INDEX IF NOT EXISTS product_declarations_key ON product_declarations (product_key);

-- Which organisation was told of which revision of a publication: one
-- row each, written in the transaction that queues the message, so that
-- it is told once.
CREATE TABLE IF NOT EXISTS product_notices (
	publication_id bigint      NOT NULL,
	revision       integer     NOT NULL,
	org_id         bigint      NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	told           timestamptz NOT NULL,
	PRIMARY KEY (publication_id, revision, org_id)
);
