-- Every event's row holds its record: in data, or as a slot of a block
-- (migration 11). A row with neither is an error to every reader (a gone
-- event is a missing row), so the table refuses one. NOT VALID: the rows
-- stored before satisfy it already (data was NOT NULL until migration 11,
-- and COPY has written a block and a slot since), so they are not read
-- again here; migration 13 validates it in the one scan it makes anyway.
ALTER TABLE events ADD CONSTRAINT events_record
	CHECK (data IS NOT NULL OR (block_id IS NOT NULL AND block_slot IS NOT NULL)) NOT VALID;
