-- The outbox of notification messages. IF NOT EXISTS: a database made
-- before the outbox had a schema of its own already holds these tables
-- (see sqlkit.Schema). A message names its organisation by ID and handle,
-- and the events it reported by their ids in the event store (event_ids,
-- first_event and last_event).
CREATE TABLE IF NOT EXISTS outbox_messages (
	id           INTEGER PRIMARY KEY,
	org_id       INTEGER NOT NULL,
	org          TEXT    NOT NULL,
	kind         TEXT    NOT NULL,
	sender       TEXT    NOT NULL,
	recipients   TEXT    NOT NULL, -- JSON array
	subject      TEXT    NOT NULL,
	message_id   TEXT    UNIQUE,
	body         BLOB    NOT NULL,
	size         INTEGER NOT NULL,
	events       INTEGER NOT NULL,
	encrypted    INTEGER NOT NULL,
	status       TEXT    NOT NULL,
	attempts     INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	last_error   TEXT    NOT NULL,
	reply        TEXT    NOT NULL,
	created      INTEGER NOT NULL,
	sent         INTEGER,
	first_event  INTEGER,
	last_event   INTEGER,
	event_ids    BLOB
);
CREATE INDEX IF NOT EXISTS outbox_due    ON outbox_messages (next_attempt) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS outbox_org    ON outbox_messages (org_id, id);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox_messages (status, id);
CREATE INDEX IF NOT EXISTS outbox_events ON outbox_messages (org, last_event) WHERE last_event IS NOT NULL;
