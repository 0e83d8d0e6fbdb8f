SET search_path = s39;
SET maintenance_work_mem = '256MB';
SELECT pg_backend_pid() AS pid \gset
\setenv PID :pid
DROP TABLE IF EXISTS hot_rows, hot_batches, part, part_old;
CREATE TABLE hot_rows (LIKE src, PRIMARY KEY (id), EXCLUDE USING hash (hash WITH =)) WITH (autovacuum_enabled = false);
CREATE INDEX hot_rows_time ON hot_rows (time_source, id);
CREATE TABLE hot_batches (LIKE src_batches, PRIMARY KEY (first_id)) WITH (autovacuum_enabled = false);
ALTER TABLE hot_batches ALTER COLUMN hashes SET STORAGE EXTERNAL;
CREATE TABLE part (LIKE src) WITH (autovacuum_enabled = false);
CHECKPOINT;
\! "$CPU" $PID start
-- today's hot partition: rows, key, hash exclusion, time index
\copy hot_rows FROM 'rows.bin' BINARY
\! "$CPU" $PID "A rows+3 indexes COPY"
-- a row of arrays a batch
\copy hot_batches FROM 'batches.bin' BINARY
\! "$CPU" $PID "B arrays COPY"
-- the guard: 500 batches, each under the hot partition's advisory lock, reading the hashes of the rows committed since (here the last one)
\o /dev/null
\i guard.sql
\o
\! "$CPU" $PID "C guard x500"
-- the seal from the arrays: unnest into the partition's rows
INSERT INTO part SELECT b.first_id + u.o - 1, substring(b.hashes FROM (u.o::int - 1) * 32 + 1 FOR 32), u.ts, b.stored,
  u.feed, u.taxonomy, u.type, u.tlp, u.src_ip, u.dst_ip, u.src_asn, u.dst_asn, u.src_fqdn, u.dst_fqdn, u.src_url, u.dst_url,
  u.md5, u.sha1, u.sha256, NULL, u.block_id, u.block_slot
FROM hot_batches b, unnest(b.time_source, b.feed, b.taxonomy, b.type, b.tlp, b.src_ip, b.dst_ip, b.src_asn, b.dst_asn,
  b.src_fqdn, b.dst_fqdn, b.src_url, b.dst_url, b.md5, b.sha1, b.sha256, b.block_id, b.block_slot)
  WITH ORDINALITY AS u(ts, feed, taxonomy, type, tlp, src_ip, dst_ip, src_asn, dst_asn, src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, block_id, block_slot, o);
\! "$CPU" $PID "D1 seal: unnest INSERT 1M rows"
ALTER TABLE part ADD PRIMARY KEY (id);
\! "$CPU" $PID "D2 seal: primary key"
CREATE INDEX part_hash ON part USING hash (hash);
\! "$CPU" $PID "D3 seal: hash index bulk"
CREATE INDEX part_time ON part (time_source, id);
\! "$CPU" $PID "D4 seal: time index"
SELECT count(src_ip), count(dst_ip), count(src_asn), count(dst_asn), count(src_fqdn), count(dst_fqdn), count(src_url), count(dst_url), count(md5), count(sha1), count(sha256) FROM part;
\! "$CPU" $PID "D5 seal: count scan"
CREATE INDEX part_src_ip ON part (src_ip, time_source, id) WHERE src_ip IS NOT NULL;
CREATE INDEX part_src_asn ON part (src_asn, time_source, id) WHERE src_asn IS NOT NULL;
CREATE INDEX part_src_fqdn ON part (src_fqdn, time_source, id) WHERE src_fqdn IS NOT NULL;
\! "$CPU" $PID "D6 seal: 3 column indexes"
ALTER TABLE part ADD CONSTRAINT part_no_dst_ip CHECK (dst_ip IS NULL), ADD CONSTRAINT part_no_dst_asn CHECK (dst_asn IS NULL),
  ADD CONSTRAINT part_no_dst_fqdn CHECK (dst_fqdn IS NULL), ADD CONSTRAINT part_no_src_url CHECK (src_url IS NULL),
  ADD CONSTRAINT part_no_dst_url CHECK (dst_url IS NULL), ADD CONSTRAINT part_no_md5 CHECK (md5 IS NULL),
  ADD CONSTRAINT part_no_sha1 CHECK (sha1 IS NULL), ADD CONSTRAINT part_no_sha256 CHECK (sha256 IS NULL);
\! "$CPU" $PID "D7 seal: 8 checks, one ALTER"
-- today's seal of the rows' partition, old (8 empty indexes) against new (count + ALTER): same 3 column indexes
CREATE INDEX hot_rows_src_ip ON hot_rows (src_ip, time_source, id) WHERE src_ip IS NOT NULL;
CREATE INDEX hot_rows_src_asn ON hot_rows (src_asn, time_source, id) WHERE src_asn IS NOT NULL;
CREATE INDEX hot_rows_src_fqdn ON hot_rows (src_fqdn, time_source, id) WHERE src_fqdn IS NOT NULL;
\! "$CPU" $PID "E1 rows seal: 3 column indexes"
CREATE INDEX hot_rows_dst_ip ON hot_rows (dst_ip, time_source, id) WHERE dst_ip IS NOT NULL;
CREATE INDEX hot_rows_dst_asn ON hot_rows (dst_asn, time_source, id) WHERE dst_asn IS NOT NULL;
CREATE INDEX hot_rows_dst_fqdn ON hot_rows (dst_fqdn, time_source, id) WHERE dst_fqdn IS NOT NULL;
CREATE INDEX hot_rows_src_url ON hot_rows (src_url, time_source, id) WHERE src_url IS NOT NULL;
CREATE INDEX hot_rows_dst_url ON hot_rows (dst_url, time_source, id) WHERE dst_url IS NOT NULL;
CREATE INDEX hot_rows_md5 ON hot_rows (md5, time_source, id) WHERE md5 IS NOT NULL;
CREATE INDEX hot_rows_sha1 ON hot_rows (sha1, time_source, id) WHERE sha1 IS NOT NULL;
CREATE INDEX hot_rows_sha256 ON hot_rows (sha256, time_source, id) WHERE sha256 IS NOT NULL;
\! "$CPU" $PID "E2 rows seal old: 8 empty indexes"
SELECT count(src_ip), count(dst_ip), count(src_asn), count(dst_asn), count(src_fqdn), count(dst_fqdn), count(src_url), count(dst_url), count(md5), count(sha1), count(sha256) FROM hot_rows;
\! "$CPU" $PID "E3 rows seal new: count scan"
ALTER TABLE hot_rows ADD CONSTRAINT hot_rows_no_dst_ip CHECK (dst_ip IS NULL), ADD CONSTRAINT hot_rows_no_dst_asn CHECK (dst_asn IS NULL),
  ADD CONSTRAINT hot_rows_no_dst_fqdn CHECK (dst_fqdn IS NULL), ADD CONSTRAINT hot_rows_no_src_url CHECK (src_url IS NULL),
  ADD CONSTRAINT hot_rows_no_dst_url CHECK (dst_url IS NULL), ADD CONSTRAINT hot_rows_no_md5 CHECK (md5 IS NULL),
  ADD CONSTRAINT hot_rows_no_sha1 CHECK (sha1 IS NULL), ADD CONSTRAINT hot_rows_no_sha256 CHECK (sha256 IS NULL);
\! "$CPU" $PID "E4 rows seal new: 8 checks, one ALTER"
-- a search of the hot partition by address, read from the arrays
SELECT count(*) FROM hot_batches b, unnest(b.src_ip) WITH ORDINALITY AS u(ip, o) WHERE u.ip = '11.3.4.5';
\! "$CPU" $PID "F search arrays by src_ip"
SELECT count(*) FROM hot_rows WHERE src_ip = '11.3.4.5';
\! "$CPU" $PID "F2 search rows by src_ip (index)"
SELECT pg_size_pretty(pg_total_relation_size('hot_rows')) AS rows_size, pg_size_pretty(pg_total_relation_size('hot_batches')) AS batches_size, pg_size_pretty(pg_total_relation_size('part')) AS part_size;
SET search_path = s39;
SET maintenance_work_mem = '256MB';
SELECT pg_backend_pid() AS pid \gset
\setenv PID :pid
DROP TABLE IF EXISTS hot_batches_lz4, hot_batches_ext, part2, part3;
CREATE TABLE hot_batches_lz4 (LIKE src_batches, PRIMARY KEY (first_id)) WITH (autovacuum_enabled = false);
ALTER TABLE hot_batches_lz4 ALTER COLUMN hashes SET STORAGE EXTERNAL;
DO $$ DECLARE c text; BEGIN
  FOR c IN SELECT column_name FROM information_schema.columns WHERE table_schema = 's39' AND table_name = 'hot_batches_lz4' AND data_type = 'ARRAY' LOOP
    EXECUTE format('ALTER TABLE hot_batches_lz4 ALTER COLUMN %I SET COMPRESSION lz4', c);
  END LOOP; END $$;
CREATE TABLE hot_batches_ext (LIKE src_batches, PRIMARY KEY (first_id)) WITH (autovacuum_enabled = false);
DO $$ DECLARE c text; BEGIN
  FOR c IN SELECT column_name FROM information_schema.columns WHERE table_schema = 's39' AND table_name = 'hot_batches_ext' AND data_type IN ('ARRAY', 'bytea') LOOP
    EXECUTE format('ALTER TABLE hot_batches_ext ALTER COLUMN %I SET STORAGE EXTERNAL', c);
  END LOOP; END $$;
CREATE TABLE part2 (LIKE src) WITH (autovacuum_enabled = false);
CREATE TABLE part3 (LIKE src) WITH (autovacuum_enabled = false);
CHECKPOINT;
\! "$CPU" $PID start
\copy hot_batches_lz4 FROM 'batches.bin' BINARY
\! "$CPU" $PID "B2 arrays COPY, lz4"
\copy hot_batches_ext FROM 'batches.bin' BINARY
\! "$CPU" $PID "B3 arrays COPY, not compressed"
INSERT INTO part2 SELECT b.first_id + u.o - 1, substring(b.hashes FROM (u.o::int - 1) * 32 + 1 FOR 32), u.ts, b.stored,
  u.feed, u.taxonomy, u.type, u.tlp, u.src_ip, u.dst_ip, u.src_asn, u.dst_asn, u.src_fqdn, u.dst_fqdn, u.src_url, u.dst_url,
  u.md5, u.sha1, u.sha256, NULL, u.block_id, u.block_slot
FROM hot_batches_lz4 b, unnest(b.time_source, b.feed, b.taxonomy, b.type, b.tlp, b.src_ip, b.dst_ip, b.src_asn, b.dst_asn,
  b.src_fqdn, b.dst_fqdn, b.src_url, b.dst_url, b.md5, b.sha1, b.sha256, b.block_id, b.block_slot)
  WITH ORDINALITY AS u(ts, feed, taxonomy, type, tlp, src_ip, dst_ip, src_asn, dst_asn, src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, block_id, block_slot, o);
\! "$CPU" $PID "D1b seal: unnest INSERT from lz4 arrays"
INSERT INTO part3 SELECT * FROM src;
\! "$CPU" $PID "D0 floor: INSERT 1M rows from a plain table"
SELECT count(*) FROM hot_batches_lz4 b, unnest(b.time_source, b.feed, b.taxonomy, b.type, b.tlp, b.src_ip, b.dst_ip, b.src_asn, b.dst_asn,
  b.src_fqdn, b.dst_fqdn, b.src_url, b.dst_url, b.md5, b.sha1, b.sha256, b.block_id, b.block_slot)
  WITH ORDINALITY AS u(ts, feed, taxonomy, type, tlp, src_ip, dst_ip, src_asn, dst_asn, src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, block_id, block_slot, o);
\! "$CPU" $PID "D1c unnest alone (count), lz4"
CREATE INDEX part2_hash_btree ON part2 (hash);
\! "$CPU" $PID "D3b B-tree on hash, bulk"
CREATE INDEX part2_hash ON part2 USING hash (hash);
\! "$CPU" $PID "D3c hash index, bulk (again)"
SELECT pg_size_pretty(pg_total_relation_size('hot_batches_lz4')) lz4, pg_size_pretty(pg_total_relation_size('hot_batches_ext')) ext,
  pg_size_pretty(pg_relation_size('part2_hash_btree')) btree, pg_size_pretty(pg_relation_size('part2_hash')) hash;
SET search_path = s39;
SET maintenance_work_mem = '256MB';
SELECT pg_backend_pid() AS pid \gset
\setenv PID :pid
DROP TABLE IF EXISTS hot_rows2, hot_rows3, part2, part3, hot_batches_ext;
CREATE TABLE hot_rows2 (LIKE src, PRIMARY KEY (id)) WITH (autovacuum_enabled = false);
CREATE INDEX hot_rows2_time ON hot_rows2 (time_source, id);
CREATE TABLE hot_rows3 (LIKE src, PRIMARY KEY (id), EXCLUDE USING hash (hash WITH =)) WITH (autovacuum_enabled = false);
CREATE INDEX hot_rows3_time ON hot_rows3 (time_source, id);
CHECKPOINT;
\! "$CPU" $PID start
\copy hot_rows2 FROM 'rows.bin' BINARY
\! "$CPU" $PID "A2 rows, key + time index, no hash guard"
CREATE INDEX hot_rows2_hash ON hot_rows2 (hash);
\! "$CPU" $PID "A2s seal: B-tree on hash, bulk"
\copy hot_rows3 FROM 'rows.bin' BINARY
\! "$CPU" $PID "A3 rows + 3 indexes (today), again"
