-- What was told to whom: the observations told to each organisation, in
-- sets (one row per commit that told it something, its keys sorted), and
-- each organisation's tally of what was seen again since. IF NOT EXISTS:
-- a database made before the notifier's records had a schema of their
-- own already holds these tables (see sqlkit.Schema).
CREATE TABLE IF NOT EXISTS notified_sets (
	org     TEXT    NOT NULL,
	id      INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	keys    BLOB    NOT NULL,
	PRIMARY KEY (org, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS notified_sets_expires ON notified_sets (expires);

CREATE TABLE IF NOT EXISTS notify_tallies (
	org   TEXT PRIMARY KEY,
	tally BLOB NOT NULL
) WITHOUT ROWID;
