-- Dead letters that can be worked: the line of the source a letter was
-- read from; a key (the SHA-256 of feed, source, line and input, one
-- column so that a long URL cannot pass an index entry's size limit) so
-- that the same input line of the same source is one letter however often
-- it is ingested; the input as a person edited it; why the last re-run failed;
-- and who discarded a letter and why. Letters stored before this
-- migration have no key: NULL keys never collide, so they stay as
-- they are.
ALTER TABLE dead_letters ADD COLUMN line bigint NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN letter_key bytea;
ALTER TABLE dead_letters ADD COLUMN edited bytea;
ALTER TABLE dead_letters ADD COLUMN retry_error text NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN retry_time timestamptz;
ALTER TABLE dead_letters ADD COLUMN discarded boolean NOT NULL DEFAULT false;
ALTER TABLE dead_letters ADD COLUMN discarded_by text NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN discard_reason text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX dead_letters_key ON dead_letters (letter_key);
