-- The mail spool: each message the SMTP listener accepted, written before
-- it answered 250, as it arrived, with its envelope; pending until the
-- step that turns it into a report marks it done (in that step's own
-- transaction) or failed.
CREATE TABLE IF NOT EXISTS mail_spool (
	id        INTEGER PRIMARY KEY,
	received  INTEGER NOT NULL, -- Unix microseconds
	mail_from TEXT    NOT NULL,
	rcpt_to   TEXT    NOT NULL, -- JSON array
	client    TEXT    NOT NULL,
	helo      TEXT    NOT NULL,
	tls       INTEGER NOT NULL,
	size      INTEGER NOT NULL,
	sha256    TEXT    NOT NULL,
	raw       BLOB    NOT NULL,
	state     TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
	reason    TEXT    NOT NULL DEFAULT '',
	finished  INTEGER           -- Unix microseconds; NULL while pending
);
CREATE INDEX IF NOT EXISTS mail_spool_pending ON mail_spool (id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS mail_spool_done ON mail_spool (finished) WHERE state = 'done';
