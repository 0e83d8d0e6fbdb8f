-- Publications: advisories, warnings, news and digests. The columns are
-- what the lists filter and sort on; content holds the rest of the
-- current revision as JSON (publication.Content), next the draft of the
-- coming revision of a published one (publication.Next), and search the
-- lower-cased text the full-text filter matches.
CREATE TABLE IF NOT EXISTS publications (
	id          INTEGER PRIMARY KEY,
	ident       TEXT    NOT NULL UNIQUE,
	kind        TEXT    NOT NULL,
	status      TEXT    NOT NULL,
	tlp         TEXT    NOT NULL,
	severity    TEXT    NOT NULL,
	revision    INTEGER NOT NULL,
	source      TEXT    NOT NULL,
	author_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
	author      TEXT    NOT NULL,
	editor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
	editor      TEXT    NOT NULL,
	approver_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
	approver    TEXT    NOT NULL,
	created     INTEGER NOT NULL, -- Unix microseconds
	updated     INTEGER NOT NULL,
	scheduled   INTEGER,
	published   INTEGER,
	withdrawn   INTEGER,
	content     TEXT    NOT NULL,
	next        TEXT,
	search      TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS publications_by_status ON publications (status, published);
CREATE INDEX IF NOT EXISTS publications_due ON publications (scheduled) WHERE status = 'scheduled';

-- The year's last number of the idents.
CREATE TABLE IF NOT EXISTS publication_counters (
	year INTEGER PRIMARY KEY,
	n    INTEGER NOT NULL
);

-- The team's log of each publication: who did what, when, why.
CREATE TABLE IF NOT EXISTS publication_changes (
	id             INTEGER PRIMARY KEY,
	publication_id INTEGER NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
	at             INTEGER NOT NULL,
	user_id        INTEGER,
	user_name      TEXT    NOT NULL,
	action         TEXT    NOT NULL,
	note           TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS publication_changes_of ON publication_changes (publication_id, id);

-- The published revisions, with their change notes: the public history.
CREATE TABLE IF NOT EXISTS publication_revisions (
	publication_id INTEGER NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
	number         INTEGER NOT NULL,
	published      INTEGER NOT NULL,
	note           TEXT    NOT NULL,
	by_name        TEXT    NOT NULL,
	content        TEXT    NOT NULL,
	PRIMARY KEY (publication_id, number)
);

-- The publication outbox: one row per revision, channel and language.
CREATE TABLE IF NOT EXISTS publication_deliveries (
	id             INTEGER PRIMARY KEY,
	publication_id INTEGER NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
	revision       INTEGER NOT NULL,
	channel        TEXT    NOT NULL,
	lang           TEXT    NOT NULL,
	status         TEXT    NOT NULL,
	attempts       INTEGER NOT NULL,
	next_attempt   INTEGER NOT NULL,
	last_error     TEXT    NOT NULL,
	reply          TEXT    NOT NULL,
	created        INTEGER NOT NULL,
	done           INTEGER,
	UNIQUE (publication_id, revision, channel, lang)
);
CREATE INDEX IF NOT EXISTS publication_deliveries_due ON publication_deliveries (channel, next_attempt) WHERE status = 'queued';

-- How many times what is public changed: the site's and the feeds' caches
-- follow it.
CREATE TABLE IF NOT EXISTS publication_generation (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
);
INSERT INTO publication_generation (id, n) VALUES (1, 0) ON CONFLICT DO NOTHING;
