-- The batches of the pipeline stored so far, by their identity
-- (store.BatchID): a batch delivered again after a crash, or an input
-- ingested again, is recognised as a whole from one row per batch rather
-- than from a unique index on every event's hash. stored says when, for
-- a retention of these rows, which nothing prunes yet.
CREATE TABLE event_batches (
	id     BYTEA       PRIMARY KEY,
	stored TIMESTAMPTZ NOT NULL
);
