-- Incident reports and case handling (internal/incident). Times are
-- timestamptz. Organisations are named by id without a foreign key: the
-- capability's delete hook decides what deleting one does
-- (incidentdb.RefuseOrganisationDelete, ForgetOrganisation).

-- Per-year counters: the incident tags (2026-123).
CREATE TABLE IF NOT EXISTS incident_counters (
	name text    NOT NULL,
	year bigint NOT NULL,
	last bigint NOT NULL,
	PRIMARY KEY (name, year)
);

CREATE TABLE IF NOT EXISTS incidents (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	year          bigint NOT NULL,
	seq           bigint NOT NULL,
	title         text    NOT NULL,
	kind          text    NOT NULL,
	taxonomy      text    NOT NULL,
	type          text    NOT NULL,
	tlp           text    NOT NULL,
	pap           text    NOT NULL,
	severity      text    NOT NULL,
	impact        text    NOT NULL,
	assignee_id   bigint REFERENCES users (id) ON DELETE SET NULL,
	status        text    NOT NULL,
	status_reason text    NOT NULL,
	created       timestamptz NOT NULL,
	updated       timestamptz NOT NULL,
	due           timestamptz, -- NULL: no due time
	closed        timestamptz,
	reports       bigint NOT NULL, -- the linked reports
	merged_into   bigint REFERENCES incidents (id),
	UNIQUE (year, seq)
);
-- The incident list: by status, by assignee, by due time, newest change first.
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (status, updated, id);
CREATE INDEX IF NOT EXISTS incidents_assignee ON incidents (assignee_id, status, updated);
CREATE INDEX IF NOT EXISTS incidents_due ON incidents (status, due);
CREATE INDEX IF NOT EXISTS incidents_updated ON incidents (updated);
CREATE INDEX IF NOT EXISTS incidents_created ON incidents (created);

CREATE TABLE IF NOT EXISTS incident_orgs (
	incident_id bigint NOT NULL REFERENCES incidents (id),
	org_id      bigint NOT NULL,
	PRIMARY KEY (incident_id, org_id)
);
CREATE INDEX IF NOT EXISTS incident_orgs_org ON incident_orgs (org_id);

CREATE TABLE IF NOT EXISTS reports (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tracking       text    UNIQUE, -- R-2026-000042, set right after the insert
	token_hash     bytea    NOT NULL, -- SHA-256 of the status token
	channel        text    NOT NULL,
	kind           text    NOT NULL,
	received       timestamptz NOT NULL,
	reporter_name  text    NOT NULL,
	reporter_email text    NOT NULL,
	reporter_phone text    NOT NULL,
	org_id         bigint, -- NULL: none
	language       text    NOT NULL,
	subject        text    NOT NULL,
	text           text    NOT NULL,
	concerned      text    NOT NULL,
	state          text    NOT NULL,
	close_reason   text    NOT NULL,
	incident_id    bigint REFERENCES incidents (id),
	split_from     bigint REFERENCES reports (id)
);
-- The triage queue: reports by state, kind or channel, newest first, the
-- id breaking ties.
CREATE INDEX IF NOT EXISTS reports_state ON reports (state, received, id);
CREATE INDEX IF NOT EXISTS reports_state_kind ON reports (state, kind, received, id);
CREATE INDEX IF NOT EXISTS reports_state_channel ON reports (state, channel, received, id);
CREATE INDEX IF NOT EXISTS reports_received ON reports (received);
CREATE INDEX IF NOT EXISTS reports_incident ON reports (incident_id, received) WHERE incident_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS reports_org ON reports (org_id) WHERE org_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS report_observables (
	report_id bigint NOT NULL REFERENCES reports (id),
	kind      text    NOT NULL,
	value     text    NOT NULL,
	PRIMARY KEY (report_id, kind, value)
);
CREATE INDEX IF NOT EXISTS report_observables_value ON report_observables (value);

CREATE TABLE IF NOT EXISTS incident_observables (
	incident_id bigint NOT NULL REFERENCES incidents (id),
	kind        text    NOT NULL,
	value       text    NOT NULL,
	PRIMARY KEY (incident_id, kind, value)
);
CREATE INDEX IF NOT EXISTS incident_observables_value ON incident_observables (value);

-- Grouping: one row a grouping key (url:…, domain:…, email:…), held by an
-- incident or, while none holds it, by the first new report naming it.
-- Receivers lock these rows in the order of their keys, so that two
-- reports of one URL received at once make one incident.
CREATE TABLE IF NOT EXISTS incident_groups (
	key         text    COLLATE "C" PRIMARY KEY,
	incident_id bigint REFERENCES incidents (id),
	report_id   bigint REFERENCES reports (id)
);
CREATE INDEX IF NOT EXISTS incident_groups_report ON incident_groups (report_id) WHERE report_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS incident_groups_incident ON incident_groups (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS incident_tasks (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	incident_id bigint NOT NULL REFERENCES incidents (id),
	title       text    NOT NULL,
	playbook    text    NOT NULL,
	step        text    NOT NULL,
	done        boolean NOT NULL,
	done_by     text    NOT NULL,
	done_at     timestamptz,
	created     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_tasks_incident ON incident_tasks (incident_id, id);

CREATE TABLE IF NOT EXISTS incident_timeline (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	incident_id bigint NOT NULL REFERENCES incidents (id),
	at          timestamptz NOT NULL,
	actor       text    NOT NULL,
	kind        text    NOT NULL,
	text        text    NOT NULL,
	details     text    NOT NULL -- a JSON object of strings
);
CREATE INDEX IF NOT EXISTS incident_timeline_incident ON incident_timeline (incident_id, at, id);

-- Attachments' contents, once per SHA-256 (lower-case hex).
CREATE TABLE IF NOT EXISTS incident_blobs (
	sha256  text    PRIMARY KEY,
	data    bytea    NOT NULL,
	size    bigint NOT NULL,
	created timestamptz NOT NULL
);

-- An attachment belongs to a report or to an incident.
CREATE TABLE IF NOT EXISTS incident_attachments (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	report_id    bigint REFERENCES reports (id),
	incident_id  bigint REFERENCES incidents (id),
	sha256       text    NOT NULL REFERENCES incident_blobs (sha256),
	name         text    NOT NULL,
	content_type text    NOT NULL,
	size         bigint NOT NULL,
	CHECK ((report_id IS NULL) <> (incident_id IS NULL))
);
CREATE INDEX IF NOT EXISTS incident_attachments_report ON incident_attachments (report_id) WHERE report_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS incident_attachments_incident ON incident_attachments (incident_id) WHERE incident_id IS NOT NULL;
