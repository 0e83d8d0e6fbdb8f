-- Publications: advisories, warnings, news and digests. The columns are
-- what the lists filter and sort on; content holds the rest of the
-- current revision as JSON (publication.Content), next the draft of the
-- coming revision of a published one (publication.Next), and search the
-- lower-cased text the full-text filter matches.
CREATE TABLE IF NOT EXISTS publications (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ident       text    COLLATE "C" NOT NULL UNIQUE,
	kind        text    NOT NULL,
	status      text    NOT NULL,
	tlp         text    NOT NULL,
	severity    text    NOT NULL,
	revision    bigint NOT NULL,
	source      text    NOT NULL,
	author_id   bigint REFERENCES users (id) ON DELETE SET NULL,
	author      text    NOT NULL,
	editor_id   bigint REFERENCES users (id) ON DELETE SET NULL,
	editor      text    NOT NULL,
	approver_id bigint REFERENCES users (id) ON DELETE SET NULL,
	approver    text    NOT NULL,
	created     timestamptz NOT NULL,
	updated     timestamptz NOT NULL,
	scheduled   timestamptz,
	published   timestamptz,
	withdrawn   timestamptz,
	content     text    NOT NULL,
	next        text,
	search      text    NOT NULL
);
CREATE INDEX IF NOT EXISTS publications_by_status ON publications (status, published);
CREATE INDEX IF NOT EXISTS publications_due ON publications (scheduled) WHERE status = 'scheduled';

-- The year's last number of the idents.
CREATE TABLE IF NOT EXISTS publication_counters (
	year integer PRIMARY KEY,
	n    bigint NOT NULL
);

-- The team's log of each publication: who did what, when, why.
CREATE TABLE IF NOT EXISTS publication_changes (
	id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	publication_id bigint NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
	at             timestamptz NOT NULL,
	user_id        bigint,
	user_name      text    NOT NULL,
	action         text    NOT NULL,
	note           text    NOT NULL
);
CREATE INDEX IF NOT EXISTS publication_changes_of ON publication_changes (publication_id, id);

-- The published revisions, with their change notes: the public history.
CREATE TABLE IF NOT EXISTS publication_revisions (
	publication_id bigint NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
	number         bigint NOT NULL,
	published      timestamptz NOT NULL,
	note           text    NOT NULL,
	by_name        text    NOT NULL,
	content        text    NOT NULL,
	PRIMARY KEY (publication_id, number)
);

-- The publication outbox: one row per revision, channel and language.
CREATE TABLE IF NOT EXISTS publication_deliveries (
	id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	publication_id bigint NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
	revision       bigint NOT NULL,
	channel        text    NOT NULL,
	lang           text    NOT NULL,
	status         text    NOT NULL,
	attempts       bigint NOT NULL,
	next_attempt   timestamptz NOT NULL,
	last_error     text    NOT NULL,
	reply          text    NOT NULL,
	created        timestamptz NOT NULL,
	done           timestamptz,
	UNIQUE (publication_id, revision, channel, lang)
);
CREATE INDEX IF NOT EXISTS publication_deliveries_due ON publication_deliveries (channel, next_attempt) WHERE status = 'queued';

-- How many times what is public changed: the site's and the feeds' caches
-- follow it.
CREATE TABLE IF NOT EXISTS publication_generation (
	id integer PRIMARY KEY CHECK (id = 1),
	n  bigint NOT NULL
);
INSERT INTO publication_generation (id, n) VALUES (1, 0) ON CONFLICT DO NOTHING;
