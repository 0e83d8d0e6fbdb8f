-- The hot partition's rows with feed, taxonomy, type and TLP as text (as
-- today) against one smallint code of a dictionary in their place: the
-- backend's CPU of COPY into a table with the hot partition's two indexes
-- (its key and the time B-tree), and the sizes. Run by codes.sh.
SET search_path = s44;
SELECT pg_backend_pid() AS pid \gset
\setenv PID :pid
\! "$CPU" $PID start
DROP TABLE IF EXISTS hot_text, hot_codes;
CREATE TABLE hot_text (LIKE src, PRIMARY KEY (id)) WITH (autovacuum_enabled = false);
CREATE INDEX hot_text_time ON hot_text (time_source, id);
CREATE TABLE hot_codes (LIKE src_codes, PRIMARY KEY (id)) WITH (autovacuum_enabled = false);
CREATE INDEX hot_codes_time ON hot_codes (time_source, id);
CHECKPOINT;
\! "$CPU" $PID "tables made"
\copy hot_text FROM 'rows.bin' BINARY
\! "$CPU" $PID "text: COPY 1M rows"
\copy hot_codes FROM 'codes.bin' BINARY
\! "$CPU" $PID "codes: COPY 1M rows"
SELECT 'text' AS form, pg_relation_size('hot_text') AS heap, pg_indexes_size('hot_text') AS indexes
UNION ALL SELECT 'codes', pg_relation_size('hot_codes'), pg_indexes_size('hot_codes');
