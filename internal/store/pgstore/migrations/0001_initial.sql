-- The same design as sqlitestore's schema (see its 0001_initial.sql):
-- a bigint key, the event hash as the idempotency key, the event in
-- event.AppendRecord form, and extracted columns with partial indexes that
-- carry (time_source, id) for newest-first keyset paging. Addresses are
-- inet: PostgreSQL orders them by family then address, so a CIDR is a
-- BETWEEN range of one family.
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
	name         text   PRIMARY KEY,
	lines_read   bigint NOT NULL DEFAULT 0,
	events_out   bigint NOT NULL DEFAULT 0,
	dead_letters bigint NOT NULL DEFAULT 0,
	duplicates   bigint NOT NULL DEFAULT 0,
	last_run     timestamptz,
	last_error   text   NOT NULL DEFAULT '',
	last_event   timestamptz
);

CREATE TABLE users (
	id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name          text        NOT NULL UNIQUE,
	email         text        NOT NULL,
	role          text        NOT NULL,
	password_hash text        NOT NULL,
	totp_secret   text        NOT NULL,
	language      text        NOT NULL,
	disabled      boolean     NOT NULL,
	created       timestamptz NOT NULL
);

CREATE TABLE sessions (
	id_hash    bytea       PRIMARY KEY,
	user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf_token text        NOT NULL,
	created    timestamptz NOT NULL,
	expires    timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE api_tokens (
	id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name      text        NOT NULL,
	hash      bytea       NOT NULL UNIQUE,
	created   timestamptz NOT NULL,
	last_used timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit (
	id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time    timestamptz NOT NULL,
	user_id bigint      NOT NULL,
	actor   text        NOT NULL,
	action  text        NOT NULL,
	target  text        NOT NULL,
	detail  text        NOT NULL
);
CREATE INDEX audit_actor ON audit (actor, id);

CREATE TABLE state (
	key   text  PRIMARY KEY,
	value bytea NOT NULL
);
