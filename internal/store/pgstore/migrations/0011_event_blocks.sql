-- Events stored by COPY keep their records in compressed blocks of up to
-- 128 events (blocks.go): event_blocks holds them, under the id of the
-- block's first event, and an event's row names its block and its slot in
-- it instead of holding data. Nothing is converted: rows stored before
-- keep their record in data, and readers take either, so the migration
-- only adds columns (no rewrite of the table) and is done at once.
CREATE TABLE event_blocks (
	id   bigint PRIMARY KEY,
	data bytea  NOT NULL
);
-- Compressed already (S2): TOAST stores a large block out of line but does
-- not compress it again.
ALTER TABLE event_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE events ALTER COLUMN data DROP NOT NULL,
	ADD COLUMN block_id bigint,
	ADD COLUMN block_slot integer;
