-- The saved searches. A search belongs to one account and goes with it;
-- (user_id, name) is unique, so that a person names a search of theirs.
-- Names sort by bytes, as SQLite sorts them.
CREATE TABLE IF NOT EXISTS saved_searches (
	id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name    text        COLLATE "C" NOT NULL,
	query   text        NOT NULL, -- the events page's query string
	shared  boolean     NOT NULL, -- shared with the team
	created timestamptz NOT NULL,
	updated timestamptz NOT NULL,
	UNIQUE (user_id, name)
);
CREATE INDEX IF NOT EXISTS saved_searches_shared ON saved_searches (name) WHERE shared;
