-- Dead letters that can be worked: the line of the source a letter was
-- read from; a key (the SHA-256 of feed, source, line and input, one
-- column so that a long URL cannot pass an index entry's size limit) so
-- that the same input line of the same source is one letter however often
-- it is ingested; the input as a person edited it; why the last re-run failed;
-- and who discarded a letter and why. Letters stored before this
-- migration have no key: NULL keys never collide, so they stay as
-- they are.
ALTER TABLE dead_letters ADD COLUMN line INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN letter_key BLOB;
ALTER TABLE dead_letters ADD COLUMN edited BLOB;
ALTER TABLE dead_letters ADD COLUMN retry_error TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN retry_time INTEGER;
ALTER TABLE dead_letters ADD COLUMN discarded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN discarded_by TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN discard_reason TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX dead_letters_key ON dead_letters (letter_key);
