-- The outbox of notification messages. IF NOT EXISTS: a database made
-- before the outbox had a schema of its own already holds these tables
-- (see sqlkit.Schema). A message names its organisation by ID and handle,
-- and the events it reported by their ids in the event store (event_ids,
-- first_event and last_event).
CREATE TABLE IF NOT EXISTS outbox_messages (
	id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id       bigint      NOT NULL,
	org          text        NOT NULL,
	kind         text        NOT NULL,
	sender       text        NOT NULL,
	recipients   text[]      NOT NULL,
	subject      text        NOT NULL,
	message_id   text        UNIQUE,
	body         bytea       NOT NULL,
	size         integer     NOT NULL,
	events       integer     NOT NULL,
	encrypted    boolean     NOT NULL,
	status       text        NOT NULL,
	attempts     integer     NOT NULL,
	next_attempt timestamptz NOT NULL,
	last_error   text        NOT NULL,
	reply        text        NOT NULL,
	created      timestamptz NOT NULL,
	sent         timestamptz,
	first_event  bigint,
	last_event   bigint,
	event_ids    bytea
);
CREATE INDEX IF NOT EXISTS outbox_due    ON outbox_messages (next_attempt) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS outbox_org    ON outbox_messages (org_id, id);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox_messages (status, id);
CREATE INDEX IF NOT EXISTS outbox_events ON outbox_messages (org, last_event) WHERE last_event IS NOT NULL;
