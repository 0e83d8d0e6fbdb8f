-- The partitions that take inserts lose their index on hash (hotset.go):
-- a batch asks the process's set of the hot partition's hashes, under an
-- advisory lock every inserting transaction takes, which of its events
-- are stored, instead of the exclusion constraint of migration 14, which
-- cost the server most of what storing an event costs it. A partition
-- gets a B-tree on hash when it is sealed (searchIndexes, partitions.go).
--
-- The partitions inserts may still reach lose it: the hot one (the one
-- the ids' sequence is in) and the one made ahead of the next roll
-- (prepareNext), if any. A closed partition keeps its index (an
-- exclusion's or migration 13's unique B-tree, named events_N_hash as
-- the sealing names its B-tree), which serves the same lookups, and its
-- sealing, if not done yet, keeps it (CREATE INDEX IF NOT EXISTS).
DO $$
DECLARE
	part record;
BEGIN
	FOR part IN
		SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname ~ '^events_[0-9]+$'
			AND substring(c.relname FROM 8)::bigint >= (SELECT last_value >> 36 FROM events_id_seq)
	LOOP
		IF EXISTS (SELECT FROM pg_constraint WHERE conname = part.relname || '_hash'
				AND connamespace = current_schema()::regnamespace) THEN
			EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part.relname, part.relname || '_hash');
		ELSIF EXISTS (SELECT FROM pg_class WHERE relname = part.relname || '_hash'
				AND relnamespace = current_schema()::regnamespace) THEN
			EXECUTE format('DROP INDEX %I', part.relname || '_hash');
		END IF;
	END LOOP;
END
$$;
