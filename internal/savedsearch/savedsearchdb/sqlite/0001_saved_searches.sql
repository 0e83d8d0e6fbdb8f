-- The saved searches. A search belongs to one account and goes with it;
-- (user_id, name) is unique, so that a person names a search of theirs.
CREATE TABLE IF NOT EXISTS saved_searches (
	id      INTEGER PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name    TEXT    NOT NULL,
	query   TEXT    NOT NULL, -- the events page's query string
	shared  INTEGER NOT NULL, -- shared with the team
	created INTEGER NOT NULL, -- Unix microseconds
	updated INTEGER NOT NULL,
	UNIQUE (user_id, name)
);
CREATE INDEX IF NOT EXISTS saved_searches_shared ON saved_searches (name) WHERE shared;
