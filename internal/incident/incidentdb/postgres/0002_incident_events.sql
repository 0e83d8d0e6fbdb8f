-- The events an incident holds (issue 12, from the console's events): an
-- event's hash with what a person reads of it as it was when it was
-- added, so that the incident still lists an event the store's
-- retention has removed since. Organisations are the event's
-- constituency handles, comma-separated.
CREATE TABLE IF NOT EXISTS incident_events (
	incident_id   bigint  NOT NULL REFERENCES incidents (id),
	event_hash    text    NOT NULL, -- lower-case hex
	event_time    timestamptz, -- NULL: the event had no time
	type          text    NOT NULL,
	source_ip     text    NOT NULL,
	fqdn          text    NOT NULL,
	url           text    NOT NULL,
	organisations text    NOT NULL,
	added         timestamptz NOT NULL,
	added_by      text    NOT NULL,
	PRIMARY KEY (incident_id, event_hash)
);
-- An incident's events, the latest added first; the incidents of an event.
CREATE INDEX IF NOT EXISTS incident_events_added ON incident_events (incident_id, added);
CREATE INDEX IF NOT EXISTS incident_events_hash ON incident_events (event_hash);
