-- Issue 3: the constituency (organisations and what they own), the tagging
-- of stored events with their organisations, and notifications.

-- AUTOINCREMENT here and for contacts: an ID is never handed out again
-- after a delete, so nothing that kept one (an outbox message's OrgID, a
-- form in a browser) can come to name another organisation.
CREATE TABLE organisations (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	handle   TEXT    NOT NULL UNIQUE,
	name     TEXT    NOT NULL,
	sector   TEXT    NOT NULL,
	country  TEXT    NOT NULL,
	language TEXT    NOT NULL,
	notes    TEXT    NOT NULL,
	-- search is the lower-cased handle, name, sector and contact e-mails,
	-- one a line, written by the store (SQLite's lower() knows ASCII only),
	-- for OrganisationQuery.Text.
	search   TEXT    NOT NULL,
	created  INTEGER NOT NULL,
	updated  INTEGER NOT NULL
);

-- prefix is the masked prefix in its canonical text form (192.0.2.0/24),
-- so "which organisation has this exact prefix" is one index lookup.
CREATE TABLE org_networks (
	org_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	prefix TEXT    NOT NULL,
	PRIMARY KEY (org_id, prefix)
) WITHOUT ROWID;
CREATE INDEX org_networks_prefix ON org_networks (prefix);

CREATE TABLE org_asns (
	org_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	asn    INTEGER NOT NULL,
	PRIMARY KEY (org_id, asn)
) WITHOUT ROWID;
CREATE INDEX org_asns_asn ON org_asns (asn);

CREATE TABLE org_domains (
	org_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	domain TEXT    NOT NULL,
	PRIMARY KEY (org_id, domain)
) WITHOUT ROWID;
CREATE INDEX org_domains_domain ON org_domains (domain);

-- position keeps the contacts in the order they were given.
CREATE TABLE org_contacts (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id   INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	name     TEXT    NOT NULL,
	email    TEXT    NOT NULL,
	phone    TEXT    NOT NULL,
	role     TEXT    NOT NULL,
	pgp_key  TEXT    NOT NULL,
	notify   INTEGER NOT NULL
);
CREATE INDEX org_contacts_org ON org_contacts (org_id, position);

-- One row: bumped in the transaction of every organisation change.
CREATE TABLE constituency_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO constituency_version (id, version) VALUES (1, 0);

CREATE TABLE change_requests (
	id      INTEGER PRIMARY KEY,
	org_id  INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	user_id INTEGER NOT NULL,
	actor   TEXT    NOT NULL,
	text    TEXT    NOT NULL,
	created INTEGER NOT NULL,
	done    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX change_requests_org ON change_requests (org_id, id);

-- A constituent user's organisation; NULL for the team. No ON DELETE
-- action: DeleteOrganisation refuses while users point at it.
ALTER TABLE users ADD COLUMN org_id INTEGER REFERENCES organisations (id);
CREATE INDEX users_org ON users (org_id) WHERE org_id IS NOT NULL;

-- The organisations of every stored event (extra.constituency), written
-- when the event is first stored. The key is the search order of
-- EventQuery.Organisation (newest first, ties by event id), so an
-- organisation's page is one index range whatever the table holds.
CREATE TABLE event_orgs (
	org         TEXT    NOT NULL,
	time_source INTEGER NOT NULL,
	event_id    INTEGER NOT NULL,
	PRIMARY KEY (org, time_source, event_id)
) WITHOUT ROWID;

-- Events to notify, one row per organisation. AUTOINCREMENT so that a seq
-- is never handed out twice, even after the newest rows were consumed.
CREATE TABLE notify_queue (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	org      TEXT    NOT NULL,
	event_id INTEGER NOT NULL,
	stored   INTEGER NOT NULL
);
CREATE INDEX notify_queue_org ON notify_queue (org, seq);

-- org_id 0 is the team-wide default, so there is no foreign key;
-- DeleteOrganisation removes an organisation's policy itself. The lists
-- are JSON arrays of strings.
CREATE TABLE notification_policies (
	org_id     INTEGER PRIMARY KEY,
	enabled    INTEGER NOT NULL,
	taxonomies TEXT    NOT NULL,
	types      TEXT    NOT NULL,
	feeds      TEXT    NOT NULL,
	immediate  TEXT    NOT NULL,
	digest     TEXT    NOT NULL,
	format     TEXT    NOT NULL,
	language   TEXT    NOT NULL,
	updated    INTEGER NOT NULL
);

CREATE TABLE notification_templates (
	language   TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	subject    TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	updated    INTEGER NOT NULL,
	updated_by TEXT    NOT NULL,
	PRIMARY KEY (language, name)
) WITHOUT ROWID;

CREATE TABLE notified_keys (
	org        TEXT    NOT NULL,
	key        BLOB    NOT NULL,
	first_sent INTEGER NOT NULL,
	last_sent  INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	repeats    INTEGER NOT NULL,
	summary    TEXT    NOT NULL,
	PRIMARY KEY (org, key)
) WITHOUT ROWID;
CREATE INDEX notified_keys_expires ON notified_keys (expires);

-- message_id is NULL when the message has no Message-ID yet; otherwise
-- unique, so one message cannot be queued twice.
CREATE TABLE outbox_messages (
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
	sent         INTEGER
);
CREATE INDEX outbox_due    ON outbox_messages (next_attempt) WHERE status = 'queued';
CREATE INDEX outbox_org    ON outbox_messages (org_id, id);
CREATE INDEX outbox_status ON outbox_messages (status, id);

-- Which messages reported an event (MessageQuery.EventHash).
CREATE TABLE message_events (
	event_hash BLOB    NOT NULL,
	message_id INTEGER NOT NULL,
	PRIMARY KEY (event_hash, message_id)
) WITHOUT ROWID;
