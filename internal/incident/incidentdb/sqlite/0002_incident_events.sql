-- The events an incident holds (issue 12, from the console's events): an
-- event's hash with what a person reads of it as it was when it was
-- added, so that the incident still lists an event the store's
-- retention has removed since. Organisations are the event's
-- constituency handles, comma-separated.
CREATE TABLE IF NOT EXISTS incident_events (
	incident_id   INTEGER NOT NULL REFERENCES incidents (id),
	event_hash    TEXT    NOT NULL, -- lower-case hex
	event_time    INTEGER, -- NULL: the event had no time
	type          TEXT    NOT NULL,
	source_ip     TEXT    NOT NULL,
	fqdn          TEXT    NOT NULL,
	url           TEXT    NOT NULL,
	organisations TEXT    NOT NULL,
	added         INTEGER NOT NULL,
	added_by      TEXT    NOT NULL,
	PRIMARY KEY (incident_id, event_hash)
);
-- An incident's events, the latest added first; the incidents of an event.
CREATE INDEX IF NOT EXISTS incident_events_added ON incident_events (incident_id, added);
CREATE INDEX IF NOT EXISTS incident_events_hash ON incident_events (event_hash);
