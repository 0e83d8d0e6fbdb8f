-- A block written from now on is cut in parts of at most 8,000 bytes
-- (blockPart, copy.go), one row of event_block_parts each, kept in its
-- page (STORAGE PLAIN: never compressed, never moved out of line). A block
-- of 128 events, about 52 kB in S2, went to TOAST as one row and 26
-- chunks of 2 kB, each chunk a tuple and an entry of the TOAST table's
-- index inserted one at a time; it is now 7 rows that COPY inserts
-- together, a page each, and 7 entries of the key.
--
-- Nothing is converted: the blocks stored before stay in their table,
-- renamed event_blocks_whole, and event_blocks becomes a view of both,
-- each block whole, which every reader reads as it read the table (a
-- condition on id reaches both tables' keys).
ALTER TABLE event_blocks RENAME TO event_blocks_whole;
ALTER INDEX event_blocks_pkey RENAME TO event_blocks_whole_pkey;
CREATE TABLE event_block_parts (
	id   bigint  NOT NULL,
	part integer NOT NULL,
	data bytea   NOT NULL,
	PRIMARY KEY (id, part)
);
ALTER TABLE event_block_parts ALTER COLUMN data SET STORAGE PLAIN;
CREATE VIEW event_blocks AS
	SELECT id, data FROM event_blocks_whole
	UNION ALL
	SELECT id, string_agg(data, ''::bytea ORDER BY part) FROM event_block_parts GROUP BY id;
