-- Every event's row holds its record: in data, or as a slot of a block
-- (migration 11). A row with neither is an error to every reader (a gone
-- event is a missing row), so the table refuses one. Checked once over the rows stored before (all
-- migrations run in one transaction, so NOT VALID and a later VALIDATE
-- would not spare the scan its lock).
ALTER TABLE events ADD CONSTRAINT events_record
	CHECK (data IS NOT NULL OR (block_id IS NOT NULL AND block_slot IS NOT NULL));
