-- PostgreSQL compresses a row's long values once the row is longer than
-- about 2 kB, which most events are: a Shadowserver record with its raw
-- line is about 2.1 kB. pglz, the default method, took 40 % of the
-- server's CPU while ingesting (perf during vigil bench ingest
-- --postgres); lz4 compresses these records to the same size (1,901
-- bytes an event on disk, indexes included, against 1,899) in a
-- fraction of the time. Rows stored before keep pglz, which PostgreSQL
-- still reads. A server built without lz4 keeps pglz.
DO $$
BEGIN
	ALTER TABLE events ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	RAISE NOTICE 'PostgreSQL was built without lz4: events keep pglz';
END
$$;
