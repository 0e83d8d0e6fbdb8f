-- Observations marked false positives by an analyst: one row per
-- notification key (the event's notify.Key, in hex), with the event it
-- was marked from, a one-line summary, the reason, who and when.
CREATE TABLE IF NOT EXISTS false_positives (
	obs_key   text        COLLATE "C" PRIMARY KEY,
	event     text        NOT NULL,
	summary   text        NOT NULL,
	reason    text        NOT NULL,
	user_id   bigint      NOT NULL,
	marked_by text        NOT NULL,
	marked    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS false_positives_marked ON false_positives (marked);
