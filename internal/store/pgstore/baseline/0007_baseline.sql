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
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	hash        bytea       NOT NULL UNIQUE,
	time_source timestamptz NOT NULL,
	stored      timestamptz NOT NULL,
	feed        text,
	taxonomy    text,
	type        text,
	tlp         text,
	src_ip      inet,
	dst_ip      inet,
	src_asn     bigint,
	dst_asn     bigint,
	src_fqdn    text COLLATE "C", -- reversed by label: be.example.www.
	dst_fqdn    text COLLATE "C",
	src_url     text,
	dst_url     text,
	md5         text,
	sha1        text,
	sha256      text,
	data        bytea       NOT NULL
);
CREATE INDEX events_time     ON events (time_source, id);
CREATE INDEX events_src_ip   ON events (src_ip, time_source, id)   WHERE src_ip IS NOT NULL;
CREATE INDEX events_dst_ip   ON events (dst_ip, time_source, id)   WHERE dst_ip IS NOT NULL;
CREATE INDEX events_src_asn  ON events (src_asn, time_source, id)  WHERE src_asn IS NOT NULL;
CREATE INDEX events_dst_asn  ON events (dst_asn, time_source, id)  WHERE dst_asn IS NOT NULL;
CREATE INDEX events_src_fqdn ON events (src_fqdn, time_source, id) WHERE src_fqdn IS NOT NULL;
CREATE INDEX events_dst_fqdn ON events (dst_fqdn, time_source, id) WHERE dst_fqdn IS NOT NULL;
CREATE INDEX events_src_url  ON events (src_url, time_source, id)  WHERE src_url IS NOT NULL;
CREATE INDEX events_dst_url  ON events (dst_url, time_source, id)  WHERE dst_url IS NOT NULL;
CREATE INDEX events_md5      ON events (md5, time_source, id)      WHERE md5 IS NOT NULL;
CREATE INDEX events_sha1     ON events (sha1, time_source, id)     WHERE sha1 IS NOT NULL;
CREATE INDEX events_sha256   ON events (sha256, time_source, id)   WHERE sha256 IS NOT NULL;

CREATE TABLE dedup_keys (
	key     bytea       PRIMARY KEY,
	expires timestamptz NOT NULL
);
CREATE INDEX dedup_keys_expires ON dedup_keys (expires);

CREATE TABLE dead_letters (
	id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	feed    text        NOT NULL,
	parser  text        NOT NULL,
	source  text        NOT NULL DEFAULT '',
	input   bytea       NOT NULL,
	error   text        NOT NULL,
	time    timestamptz NOT NULL,
	retried boolean     NOT NULL DEFAULT false
);
CREATE INDEX dead_letters_feed ON dead_letters (feed, id);

CREATE TABLE feeds (
	name         text   NOT NULL,
	lines_read   bigint NOT NULL DEFAULT 0,
	events_out   bigint NOT NULL DEFAULT 0,
	dead_letters bigint NOT NULL DEFAULT 0,
	duplicates   bigint NOT NULL DEFAULT 0,
	last_run     timestamptz,
	last_error   text   NOT NULL DEFAULT '',
	last_event   timestamptz,
	report       text   NOT NULL DEFAULT '',
	warnings     bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (name, report)
);

CREATE TABLE state (
	key   text  PRIMARY KEY,
	value bytea NOT NULL
);

CREATE TABLE event_orgs (
	org         text        COLLATE "C" NOT NULL,
	time_source timestamptz NOT NULL,
	event_id    bigint      NOT NULL,
	PRIMARY KEY (org, time_source, event_id)
);

CREATE TABLE notify_queue (
	org      text        COLLATE "C" NOT NULL,
	event_id bigint      NOT NULL,
	stored   timestamptz NOT NULL,
	PRIMARY KEY (org, event_id)
);

CREATE TABLE leases (
	name    text        PRIMARY KEY,
	holder  text        NOT NULL,
	expires timestamptz NOT NULL
);

