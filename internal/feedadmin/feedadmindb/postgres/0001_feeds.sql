-- The console's changes to the feeds over the configuration file, the
-- runs asked for by hand and the recent runs of each feed.
CREATE TABLE IF NOT EXISTS feed_overrides (
	name       text        COLLATE "C" PRIMARY KEY,
	definition text,                   -- one feed in YAML; NULL: only paused or resumed
	paused     boolean,                -- NULL: as the definition says
	updated    timestamptz NOT NULL,
	updated_by text        NOT NULL
);

-- One row, counting the changes to feed_overrides, which the processes
-- running the feeds poll.
CREATE TABLE IF NOT EXISTS feed_overrides_version (
	id      integer PRIMARY KEY CHECK (id = 1),
	version bigint  NOT NULL
);
INSERT INTO feed_overrides_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS feed_run_requests (
	feed         text        COLLATE "C" PRIMARY KEY,
	requested    timestamptz NOT NULL,
	requested_by text        NOT NULL
);

CREATE TABLE IF NOT EXISTS feed_runs (
	id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	feed          text        NOT NULL,
	trigger       text        NOT NULL,
	requested_by  text        NOT NULL,
	started       timestamptz NOT NULL,
	finished      timestamptz,
	inputs        bigint      NOT NULL DEFAULT 0,
	lines_read    bigint      NOT NULL DEFAULT 0,
	events_parsed bigint      NOT NULL DEFAULT 0,
	events_stored bigint      NOT NULL DEFAULT 0,
	dead_letters  bigint      NOT NULL DEFAULT 0,
	duplicates    bigint      NOT NULL DEFAULT 0,
	error         text        NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feed_runs_feed ON feed_runs (feed, id);
