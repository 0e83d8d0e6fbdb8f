-- Pipeline alerts (internal/incident/alert): one row per alert, an
-- organisation's events of one classification type while the alert waits
-- in the triage queue. Times are Unix microseconds. org_id 0 is an event
-- of no organisation (org_handle '') or of a handle the constituency does
-- not know (org_handle set); it has no foreign key, so that deleting an
-- organisation only runs alertdb.ForgetOrganisation.
CREATE TABLE IF NOT EXISTS incident_alerts (
	id         INTEGER PRIMARY KEY,
	org_id     INTEGER NOT NULL,
	org_handle TEXT    NOT NULL,
	taxonomy   TEXT    NOT NULL,
	type       TEXT    NOT NULL,
	rule       TEXT    NOT NULL,
	severity   TEXT    NOT NULL,
	min_count  INTEGER NOT NULL,
	events     INTEGER NOT NULL, -- the matching events counted
	first_seen INTEGER NOT NULL, -- when the first was stored
	last_seen  INTEGER NOT NULL, -- when the last was stored
	-- pending holds the lines of the events counted before min_count is
	-- reached, which become the report's text; '' once the report exists.
	pending    TEXT    NOT NULL DEFAULT '',
	report_id  INTEGER UNIQUE REFERENCES reports (id)
);
CREATE INDEX IF NOT EXISTS incident_alerts_group ON incident_alerts (type, org_id, org_handle, id);
