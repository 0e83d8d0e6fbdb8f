-- The layout of the SQLite store's migration 3: the queue keyed by
-- organisation and event (entries whose event is gone dropped), the
-- events of a message listed in its row, and the
-- observations told kept in sets (store.EncodeToldSet) with a tally of
-- repeats per organisation (store.EncodeTally). notified_keys is converted
-- and dropped by the migration's Go step.

CREATE TABLE notify_queue_by_org (
	org      text        COLLATE "C" NOT NULL,
	event_id bigint      NOT NULL,
	stored   timestamptz NOT NULL,
	PRIMARY KEY (org, event_id)
);
INSERT INTO notify_queue_by_org (org, event_id, stored)
	SELECT q.org, q.event_id, q.stored FROM notify_queue AS q WHERE EXISTS (SELECT 1 FROM events AS e WHERE e.id = q.event_id)
	ON CONFLICT DO NOTHING;
DROP TABLE notify_queue;
ALTER TABLE notify_queue_by_org RENAME TO notify_queue;
ALTER INDEX notify_queue_by_org_pkey RENAME TO notify_queue_pkey;

-- The events a message reported as a list in its row, as in the SQLite
-- store; message_events is converted by the migration's Go step, which
-- then drops it.
ALTER TABLE outbox_messages ADD COLUMN first_event bigint;
ALTER TABLE outbox_messages ADD COLUMN last_event bigint;
ALTER TABLE outbox_messages ADD COLUMN event_ids bytea;
CREATE INDEX outbox_events ON outbox_messages (org, last_event) WHERE last_event IS NOT NULL;

CREATE TABLE notified_sets (
	org     text        COLLATE "C" NOT NULL,
	id      bigint      NOT NULL,
	expires timestamptz NOT NULL,
	keys    bytea       NOT NULL,
	PRIMARY KEY (org, id)
);
CREATE INDEX notified_sets_expires ON notified_sets (expires);

CREATE TABLE notify_tallies (
	org   text  COLLATE "C" PRIMARY KEY,
	tally bytea NOT NULL
);
