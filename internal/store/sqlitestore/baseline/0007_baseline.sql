-- The event store's schema and the capabilities' tables not yet moved to
-- their own schemas, as migrations 0001 to 0007 leave them, in one script:
-- a new database starts here and records version 7. Migrations 0001 to
-- 0007 remain to bring a database of an earlier release up to version 7;
-- neither they nor this script change any more. A capability's tables are
-- created by its own schema (sqlkit.Schema): internal/auth/authdb holds
-- users, sessions, api_tokens, recovery_codes and audit;
-- internal/constituency/constituencydb holds organisations, org_networks,
-- org_asns, org_domains, org_contacts, constituency_version,
-- change_requests and organisation_handles; internal/notify/notifydb holds
-- notification_policies and notification_templates, internal/notify/told
-- notified_sets and notify_tallies; internal/outbox/outboxdb holds
-- outbox_messages.

CREATE TABLE events (
	id          INTEGER PRIMARY KEY,
	hash        BLOB    NOT NULL UNIQUE,
	time_source INTEGER NOT NULL, -- Unix microseconds
	stored      INTEGER NOT NULL, -- Unix microseconds
	feed        TEXT,
	taxonomy    TEXT,
	type        TEXT,
	tlp         TEXT,
	src_ip      BLOB,    -- 16 bytes, IPv4 mapped
	dst_ip      BLOB,
	src_asn     INTEGER,
	dst_asn     INTEGER,
	src_fqdn    TEXT,    -- reversed by label: be.example.www.
	dst_fqdn    TEXT,
	src_url     TEXT,
	dst_url     TEXT,
	md5         TEXT,
	sha1        TEXT,
	sha256      TEXT,
	data        BLOB    NOT NULL
);
CREATE INDEX events_time ON events (time_source);
CREATE INDEX events_src_ip   ON events (src_ip, time_source)   WHERE src_ip IS NOT NULL;
CREATE INDEX events_dst_ip   ON events (dst_ip, time_source)   WHERE dst_ip IS NOT NULL;
CREATE INDEX events_src_asn  ON events (src_asn, time_source)  WHERE src_asn IS NOT NULL;
CREATE INDEX events_dst_asn  ON events (dst_asn, time_source)  WHERE dst_asn IS NOT NULL;
CREATE INDEX events_src_fqdn ON events (src_fqdn, time_source) WHERE src_fqdn IS NOT NULL;
CREATE INDEX events_dst_fqdn ON events (dst_fqdn, time_source) WHERE dst_fqdn IS NOT NULL;
CREATE INDEX events_src_url  ON events (src_url, time_source)  WHERE src_url IS NOT NULL;
CREATE INDEX events_dst_url  ON events (dst_url, time_source)  WHERE dst_url IS NOT NULL;
CREATE INDEX events_md5      ON events (md5, time_source)      WHERE md5 IS NOT NULL;
CREATE INDEX events_sha1     ON events (sha1, time_source)     WHERE sha1 IS NOT NULL;
CREATE INDEX events_sha256   ON events (sha256, time_source)   WHERE sha256 IS NOT NULL;

CREATE TABLE dedup_keys (
	key     BLOB    PRIMARY KEY,
	expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dedup_keys_expires ON dedup_keys (expires);

CREATE TABLE dead_letters (
	id      INTEGER PRIMARY KEY,
	feed    TEXT    NOT NULL,
	parser  TEXT    NOT NULL,
	source  TEXT    NOT NULL DEFAULT '',
	input   BLOB    NOT NULL,
	error   TEXT    NOT NULL,
	time    INTEGER NOT NULL,
	retried INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX dead_letters_feed ON dead_letters (feed, id);

CREATE TABLE state (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE event_orgs (
	org         TEXT    NOT NULL,
	time_source INTEGER NOT NULL,
	event_id    INTEGER NOT NULL,
	PRIMARY KEY (org, time_source, event_id)
) WITHOUT ROWID;

CREATE TABLE notify_queue (
	org      TEXT    NOT NULL,
	event_id INTEGER NOT NULL,
	stored   INTEGER NOT NULL,
	PRIMARY KEY (org, event_id)
) WITHOUT ROWID;

CREATE TABLE leases (
	name    TEXT    PRIMARY KEY,
	holder  TEXT    NOT NULL,
	expires INTEGER NOT NULL -- Unix microseconds
) WITHOUT ROWID;

CREATE TABLE feeds (
	name         TEXT    NOT NULL,
	report       TEXT    NOT NULL DEFAULT '',
	lines_read   INTEGER NOT NULL DEFAULT 0,
	events_out   INTEGER NOT NULL DEFAULT 0,
	dead_letters INTEGER NOT NULL DEFAULT 0,
	duplicates   INTEGER NOT NULL DEFAULT 0,
	warnings     INTEGER NOT NULL DEFAULT 0,
	last_run     INTEGER,
	last_error   TEXT    NOT NULL DEFAULT '',
	last_event   INTEGER,
	PRIMARY KEY (name, report)
) WITHOUT ROWID;
