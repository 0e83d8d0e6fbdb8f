-- The console's changes to the feeds over the configuration file, the
-- runs asked for by hand and the recent runs of each feed.
CREATE TABLE IF NOT EXISTS feed_overrides (
	name       TEXT    PRIMARY KEY,
	definition TEXT,             -- one feed in YAML; NULL: only paused or resumed
	paused     INTEGER,          -- NULL: as the definition says
	updated    INTEGER NOT NULL,
	updated_by TEXT    NOT NULL
) WITHOUT ROWID;

-- One row, counting the changes to feed_overrides, which the processes
-- running the feeds poll.
CREATE TABLE IF NOT EXISTS feed_overrides_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO feed_overrides_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS feed_run_requests (
	feed         TEXT    PRIMARY KEY,
	requested    INTEGER NOT NULL,
	requested_by TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS feed_runs (
	id            INTEGER PRIMARY KEY,
	feed          TEXT    NOT NULL,
	trigger       TEXT    NOT NULL,
	requested_by  TEXT    NOT NULL,
	started       INTEGER NOT NULL,
	finished      INTEGER,
	inputs        INTEGER NOT NULL DEFAULT 0,
	lines_read    INTEGER NOT NULL DEFAULT 0,
	events_parsed INTEGER NOT NULL DEFAULT 0,
	events_stored INTEGER NOT NULL DEFAULT 0,
	dead_letters  INTEGER NOT NULL DEFAULT 0,
	duplicates    INTEGER NOT NULL DEFAULT 0,
	error         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feed_runs_feed ON feed_runs (feed, id);
