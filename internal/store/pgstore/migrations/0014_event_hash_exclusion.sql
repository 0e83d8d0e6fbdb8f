-- The hot partition as createPartition (partitions.go) now makes one:
--
-- It refuses a hash stored in it by an exclusion constraint on a hash
-- index instead of a unique B-tree: a hash index keeps 4 bytes of the
-- key's hash an entry, half the B-tree's size, and an insert reads its
-- bucket's page rather than descending the B-tree to a random leaf.
--
-- It has the B-tree on (time_source, id) that a closed partition gets when
-- sealed, in place of its BRIN on time_source: a list of the newest events
-- reads the hot partition's newest rows from it, where it sorted all of
-- them (up to hotLimit) before.
--
-- Only the hot partition changes (events_1 unless a later one was
-- opened); the closed ones keep their indexes.
DO $$
DECLARE
	hot text := 'events_' || (SELECT max(num) FROM event_partitions);
BEGIN
	IF EXISTS (SELECT FROM pg_class WHERE relname = hot || '_hash' AND relnamespace = current_schema()::regnamespace
		AND relam = (SELECT oid FROM pg_am WHERE amname = 'btree')) THEN
		EXECUTE format('DROP INDEX %I', hot || '_hash');
		EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I EXCLUDE USING hash (hash WITH =)', hot, hot || '_hash');
	END IF;
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (time_source, id)', hot || '_time', hot);
	EXECUTE format('DROP INDEX IF EXISTS %I', hot || '_brin');
END
$$;
