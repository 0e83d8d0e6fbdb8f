-- Incident reports and case handling (internal/incident). Times are Unix
-- microseconds. Organisations are named by id without a foreign key: the
-- capability's delete hook decides what deleting one does
-- (incidentdb.RefuseOrganisationDelete, ForgetOrganisation).

-- Per-year counters: the incident tags (2026-123).
CREATE TABLE IF NOT EXISTS incident_counters (
	name TEXT    NOT NULL,
	year INTEGER NOT NULL,
	last INTEGER NOT NULL,
	PRIMARY KEY (name, year)
);

CREATE TABLE IF NOT EXISTS incidents (
	id            INTEGER PRIMARY KEY,
	year          INTEGER NOT NULL,
	seq           INTEGER NOT NULL,
	title         TEXT    NOT NULL,
	kind          TEXT    NOT NULL,
	taxonomy      TEXT    NOT NULL,
	type          TEXT    NOT NULL,
	tlp           TEXT    NOT NULL,
	pap           TEXT    NOT NULL,
	severity      TEXT    NOT NULL,
	impact        TEXT    NOT NULL,
	assignee_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
	status        TEXT    NOT NULL,
	status_reason TEXT    NOT NULL,
	created       INTEGER NOT NULL,
	updated       INTEGER NOT NULL,
	due           INTEGER, -- NULL: no due time
	closed        INTEGER,
	reports       INTEGER NOT NULL, -- the linked reports
	merged_into   INTEGER REFERENCES incidents (id),
	UNIQUE (year, seq)
);
-- The incident list: by status, by assignee, by due time, newest change first.
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (status, updated);
CREATE INDEX IF NOT EXISTS incidents_assignee ON incidents (assignee_id, status, updated);
CREATE INDEX IF NOT EXISTS incidents_due ON incidents (status, due);
CREATE INDEX IF NOT EXISTS incidents_updated ON incidents (updated);
CREATE INDEX IF NOT EXISTS incidents_created ON incidents (created);

CREATE TABLE IF NOT EXISTS incident_orgs (
	incident_id INTEGER NOT NULL REFERENCES incidents (id),
	org_id      INTEGER NOT NULL,
	PRIMARY KEY (incident_id, org_id)
);
CREATE INDEX IF NOT EXISTS incident_orgs_org ON incident_orgs (org_id);

CREATE TABLE IF NOT EXISTS reports (
	id             INTEGER PRIMARY KEY,
	tracking       TEXT    UNIQUE, -- R-2026-000042, set right after the insert
	token_hash     BLOB    NOT NULL, -- SHA-256 of the status token
	channel        TEXT    NOT NULL,
	kind           TEXT    NOT NULL,
	received       INTEGER NOT NULL,
	reporter_name  TEXT    NOT NULL,
	reporter_email TEXT    NOT NULL,
	reporter_phone TEXT    NOT NULL,
	org_id         INTEGER, -- NULL: none
	language       TEXT    NOT NULL,
	subject        TEXT    NOT NULL,
	text           TEXT    NOT NULL,
	concerned      TEXT    NOT NULL,
	state          TEXT    NOT NULL,
	close_reason   TEXT    NOT NULL,
	incident_id    INTEGER REFERENCES incidents (id),
	split_from     INTEGER REFERENCES reports (id)
);
-- The triage queue: reports by state, kind or channel, newest first (the
-- rowid, the id, ends every index and breaks ties).
CREATE INDEX IF NOT EXISTS reports_state ON reports (state, received);
CREATE INDEX IF NOT EXISTS reports_state_kind ON reports (state, kind, received);
CREATE INDEX IF NOT EXISTS reports_state_channel ON reports (state, channel, received);
CREATE INDEX IF NOT EXISTS reports_received ON reports (received);
CREATE INDEX IF NOT EXISTS reports_incident ON reports (incident_id, received) WHERE incident_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS reports_org ON reports (org_id) WHERE org_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS report_observables (
	report_id INTEGER NOT NULL REFERENCES reports (id),
	kind      TEXT    NOT NULL,
	value     TEXT    NOT NULL,
	PRIMARY KEY (report_id, kind, value)
);
CREATE INDEX IF NOT EXISTS report_observables_value ON report_observables (value);

CREATE TABLE IF NOT EXISTS incident_observables (
	incident_id INTEGER NOT NULL REFERENCES incidents (id),
	kind        TEXT    NOT NULL,
	value       TEXT    NOT NULL,
	PRIMARY KEY (incident_id, kind, value)
);
CREATE INDEX IF NOT EXISTS incident_observables_value ON incident_observables (value);

-- Grouping: one row a grouping key (url:…, domain:…, email:…), held by an
-- incident or, while none holds it, by the first new report naming it.
-- Receivers lock these rows in the order of their keys, so that two
-- reports of one URL received at once make one incident.
CREATE TABLE IF NOT EXISTS incident_groups (
	key         TEXT    PRIMARY KEY,
	incident_id INTEGER REFERENCES incidents (id),
	report_id   INTEGER REFERENCES reports (id)
);
CREATE INDEX IF NOT EXISTS incident_groups_report ON incident_groups (report_id) WHERE report_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS incident_groups_incident ON incident_groups (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS incident_tasks (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents (id),
	title       TEXT    NOT NULL,
	playbook    TEXT    NOT NULL,
	step        TEXT    NOT NULL,
	done        INTEGER NOT NULL,
	done_by     TEXT    NOT NULL,
	done_at     INTEGER,
	created     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_tasks_incident ON incident_tasks (incident_id, id);

CREATE TABLE IF NOT EXISTS incident_timeline (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents (id),
	at          INTEGER NOT NULL,
	actor       TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	text        TEXT    NOT NULL,
	details     TEXT    NOT NULL -- a JSON object of strings
);
CREATE INDEX IF NOT EXISTS incident_timeline_incident ON incident_timeline (incident_id, at, id);

-- Attachments' contents, once per SHA-256 (lower-case hex).
CREATE TABLE IF NOT EXISTS incident_blobs (
	sha256  TEXT    PRIMARY KEY,
	data    BLOB    NOT NULL,
	size    INTEGER NOT NULL,
	created INTEGER NOT NULL
);

-- An attachment belongs to a report or to an incident.
CREATE TABLE IF NOT EXISTS incident_attachments (
	id           INTEGER PRIMARY KEY,
	report_id    INTEGER REFERENCES reports (id),
	incident_id  INTEGER REFERENCES incidents (id),
	sha256       TEXT    NOT NULL REFERENCES incident_blobs (sha256),
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	CHECK ((report_id IS NULL) <> (incident_id IS NULL))
);
CREATE INDEX IF NOT EXISTS incident_attachments_report ON incident_attachments (report_id) WHERE report_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS incident_attachments_incident ON incident_attachments (incident_id) WHERE incident_id IS NOT NULL;
