-- events becomes a table partitioned by ranges of its ids, one partition
-- (events_N) for the ids from N << 36 up to (N + 1) << 36. Ids follow the
-- order events are stored in, so a partition holds the events stored over
-- a stretch of time: a new one is opened (partitions.go) when a batch's
-- observation day is later than the hot partition's, as the SQLite parts
-- layout does, and the ids' sequence is moved to its first id. Every read
-- by id (the notification queue, event_orgs, EventsAfter, GetEvent's
-- lookups by id) is pruned to one partition.
--
-- The hot partition carries what inserts need only: its primary key, a
-- unique index on hash and a BRIN index on time_source. Once the sequence
-- has moved past it no insert can reach it (the move waits for every
-- insert in progress, partitions.go), and its twelve search indexes are
-- built in bulk then (CREATE INDEX on the partition).
--
-- The table stored so far becomes partition 0 as it is, with all its
-- indexes: nothing is rewritten. One scan checks its rows: that their ids
-- are below 1 << 36 (the partition's bound, which ATTACH then takes from
-- the constraint without a scan of its own) and migration 12's check,
-- validated in the same pass.
--
-- PostgreSQL 15 has no identity column on a partitioned table: the ids
-- come from a sequence, events_id_seq, owned by the column.
ALTER TABLE events ALTER COLUMN id DROP IDENTITY;
ALTER TABLE events DROP CONSTRAINT events_record,
	ADD CONSTRAINT events_record CHECK (data IS NOT NULL OR (block_id IS NOT NULL AND block_slot IS NOT NULL)),
	ADD CONSTRAINT events_0_ids CHECK (id < 68719476736);
ALTER TABLE events RENAME TO events_0;
ALTER INDEX events_pkey RENAME TO events_0_pkey;
CREATE SEQUENCE events_id_seq;
CREATE TABLE events (
	id          bigint      NOT NULL DEFAULT nextval('events_id_seq'),
	hash        bytea       NOT NULL,
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
	src_fqdn    text COLLATE "C",
	dst_fqdn    text COLLATE "C",
	src_url     text,
	dst_url     text,
	md5         text,
	sha1        text,
	sha256      text,
	data        bytea,
	block_id    bigint,
	block_slot  integer,
	CONSTRAINT events_record CHECK (data IS NOT NULL OR (block_id IS NOT NULL AND block_slot IS NOT NULL)),
	PRIMARY KEY (id)
) PARTITION BY RANGE (id);
ALTER SEQUENCE events_id_seq OWNED BY events.id;
ALTER TABLE events ATTACH PARTITION events_0 FOR VALUES FROM (MINVALUE) TO (68719476736);

-- The partitions: the observation day that opened each, and when its
-- search indexes were built (NULL while it is hot, or closed and waiting
-- for them).
CREATE TABLE event_partitions (
	num    integer     PRIMARY KEY,
	day    date        NOT NULL,
	sealed timestamptz
);
-- The day is UTC's, as observationDay's (current_date is the server's
-- time zone's).
INSERT INTO event_partitions (num, day, sealed) VALUES
	(0, (now() AT TIME ZONE 'UTC')::date, now()), (1, (now() AT TIME ZONE 'UTC')::date, NULL);

-- The first hot partition. A partition takes the parent's columns, with
-- their compression (migration 10), when it is created.
CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (68719476736) TO (137438953472);
CREATE UNIQUE INDEX events_1_hash ON events_1 (hash);
CREATE INDEX events_1_brin ON events_1 USING brin (time_source);
SELECT setval('events_id_seq', 68719476736, false);
DO $$
BEGIN
	ALTER TABLE events ALTER COLUMN data SET COMPRESSION lz4;
	ALTER TABLE events_1 ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	RAISE NOTICE 'PostgreSQL was built without lz4: events keep pglz';
END
$$;
