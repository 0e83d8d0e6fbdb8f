-- Events: the integer rowid keeps every index entry small; hash is the
-- idempotency key. data is the event in event.AppendRecord form. The other
-- columns are extracted for search (see store.EventColumns); sparse ones are
-- NULL when absent and indexed by partial indexes, so an event without a
-- destination costs no destination index entry.
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

-- Newest-first order and the scan for filters without an indicator. An
-- index on time_source holds the rowid too, so it orders (time_source, id).
CREATE INDEX events_time ON events (time_source);

-- Indicator indexes carry time_source so that an equality lookup returns
-- rows already newest first (no sort, the first page reads 50 entries), and
-- a range lookup (CIDR, domain) sorts from the index alone, without
-- touching the table. See SearchEvents for the query shape.
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

CREATE TABLE feeds (
	name         TEXT    PRIMARY KEY,
	lines_read   INTEGER NOT NULL DEFAULT 0,
	events_out   INTEGER NOT NULL DEFAULT 0,
	dead_letters INTEGER NOT NULL DEFAULT 0,
	duplicates   INTEGER NOT NULL DEFAULT 0,
	last_run     INTEGER,
	last_error   TEXT    NOT NULL DEFAULT '',
	last_event   INTEGER
);

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT    NOT NULL UNIQUE,
	email         TEXT    NOT NULL,
	role          TEXT    NOT NULL,
	password_hash TEXT    NOT NULL,
	totp_secret   TEXT    NOT NULL,
	language      TEXT    NOT NULL,
	disabled      INTEGER NOT NULL,
	created       INTEGER NOT NULL
);

CREATE TABLE sessions (
	id_hash    BLOB    PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf_token TEXT    NOT NULL,
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE api_tokens (
	id        INTEGER PRIMARY KEY,
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name      TEXT    NOT NULL,
	hash      BLOB    NOT NULL UNIQUE,
	created   INTEGER NOT NULL,
	last_used INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit (
	id      INTEGER PRIMARY KEY,
	time    INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	actor   TEXT    NOT NULL,
	action  TEXT    NOT NULL,
	target  TEXT    NOT NULL,
	detail  TEXT    NOT NULL
);
CREATE INDEX audit_actor ON audit (actor, id);

CREATE TABLE state (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
