-- The mail spool: each message the SMTP listener accepted, written before
-- it answered 250, as it arrived, with its envelope; pending until the
-- step that turns it into a report marks it done (in that step's own
-- transaction) or failed.
CREATE TABLE IF NOT EXISTS mail_spool (
	id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	received  timestamptz NOT NULL,
	mail_from text        NOT NULL,
	rcpt_to   text[]      NOT NULL,
	client    text        NOT NULL,
	helo      text        NOT NULL,
	tls       boolean     NOT NULL,
	size      bigint      NOT NULL,
	sha256    text        NOT NULL,
	raw       bytea       NOT NULL,
	state     text        NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
	reason    text        NOT NULL DEFAULT '',
	finished  timestamptz
);
CREATE INDEX IF NOT EXISTS mail_spool_pending ON mail_spool (id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS mail_spool_done ON mail_spool (finished) WHERE state = 'done';
