-- Observations marked false positives by an analyst: one row per
-- notification key (the event's notify.Key, in hex), with the event it
-- was marked from, a one-line summary, the reason, who and when.
CREATE TABLE IF NOT EXISTS false_positives (
	obs_key  TEXT    PRIMARY KEY,
	event    TEXT    NOT NULL,
	summary  TEXT    NOT NULL,
	reason   TEXT    NOT NULL,
	user_id  INTEGER NOT NULL,
	marked_by TEXT    NOT NULL,
	marked   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS false_positives_marked ON false_positives (marked);
