-- The constituency: organisations with their networks, AS numbers,
-- domains and contacts, the version every change to them bumps, the
-- change requests they send, and every handle ever given (a deleted
-- organisation's is never given again). IF NOT EXISTS: a database made
-- before the constituency had a schema of its own already holds these
-- tables (see sqlkit.Schema), and its version row.

CREATE TABLE IF NOT EXISTS organisations (
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

CREATE TABLE IF NOT EXISTS org_networks (
	org_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	prefix TEXT    NOT NULL,
	PRIMARY KEY (org_id, prefix)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS org_networks_prefix ON org_networks (prefix);

CREATE TABLE IF NOT EXISTS org_asns (
	org_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	asn    INTEGER NOT NULL,
	PRIMARY KEY (org_id, asn)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS org_asns_asn ON org_asns (asn);

CREATE TABLE IF NOT EXISTS org_domains (
	org_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	domain TEXT    NOT NULL,
	PRIMARY KEY (org_id, domain)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS org_domains_domain ON org_domains (domain);

CREATE TABLE IF NOT EXISTS org_contacts (
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
CREATE INDEX IF NOT EXISTS org_contacts_org ON org_contacts (org_id, position);

CREATE TABLE IF NOT EXISTS constituency_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO constituency_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS change_requests (
	id      INTEGER PRIMARY KEY,
	org_id  INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	user_id INTEGER NOT NULL,
	actor   TEXT    NOT NULL,
	text    TEXT    NOT NULL,
	created INTEGER NOT NULL,
	done    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS change_requests_org ON change_requests (org_id, id);

CREATE TABLE IF NOT EXISTS organisation_handles (
	handle  TEXT    PRIMARY KEY,
	org_id  INTEGER NOT NULL, -- 0 when deleted before this table existed
	retired INTEGER           -- Unix microseconds; NULL while in use
) WITHOUT ROWID;
