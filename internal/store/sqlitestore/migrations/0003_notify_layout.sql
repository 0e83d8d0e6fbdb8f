-- A layout for notification passes over a million events: one B-tree write
-- per queued event at ingestion and a range of one B-tree per organisation
-- when consumed, and per message (not per event) for what was told.

-- The queue is keyed by organisation and event: an organisation's pending
-- events are one contiguous range, read in event order and deleted as one
-- range. The event id is the queue order. Entries whose event is gone are
-- dropped.
CREATE TABLE notify_queue_by_org (
	org      TEXT    NOT NULL,
	event_id INTEGER NOT NULL,
	stored   INTEGER NOT NULL,
	PRIMARY KEY (org, event_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO notify_queue_by_org (org, event_id, stored)
	SELECT q.org, q.event_id, q.stored FROM notify_queue AS q WHERE EXISTS (SELECT 1 FROM events AS e WHERE e.id = q.event_id);
DROP TABLE notify_queue;
ALTER TABLE notify_queue_by_org RENAME TO notify_queue;

-- Which events a message reported: their ids in the message row
-- (eventIDList), and the first and last of them, so that the messages of
-- one event are found among its organisation's messages whose range holds
-- it. message_events (a row per event and message, keyed by hash) is
-- converted by the migration's Go step, which then drops it.
ALTER TABLE outbox_messages ADD COLUMN first_event INTEGER;
ALTER TABLE outbox_messages ADD COLUMN last_event INTEGER;
ALTER TABLE outbox_messages ADD COLUMN event_ids BLOB;
CREATE INDEX outbox_events ON outbox_messages (org, last_event) WHERE last_event IS NOT NULL;

-- Observations told, one set per commit and organisation (see
-- store.EncodeToldSet); expires is the latest of its keys. Filled from
-- notified_keys by the migration's Go step, which then drops that table.
CREATE TABLE notified_sets (
	org     TEXT    NOT NULL,
	id      INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	keys    BLOB    NOT NULL,
	PRIMARY KEY (org, id)
) WITHOUT ROWID;
CREATE INDEX notified_sets_expires ON notified_sets (expires);

-- Each organisation's "seen again" tally (store.EncodeTally).
CREATE TABLE notify_tallies (
	org   TEXT PRIMARY KEY,
	tally BLOB NOT NULL
) WITHOUT ROWID;
