-- The newsletter: its subscribers, the issues sent to them (a snapshot of
-- the publication each was made from) and one send per issue and
-- subscriber. The address is unique, in lower case. The sends have no
-- foreign keys: an issue's sends are written in its own transaction, a
-- subscriber's are deleted with it (DeleteSubscriber), and checking two
-- keys for each of 100,000 rows would double the time to queue an issue.
CREATE TABLE IF NOT EXISTS newsletter_subscribers (
	id           INTEGER PRIMARY KEY,
	address      TEXT    NOT NULL UNIQUE,
	lang         TEXT    NOT NULL,
	warnings     INTEGER NOT NULL,
	status       TEXT    NOT NULL,
	created      INTEGER NOT NULL,
	confirmed    INTEGER,
	changed      INTEGER NOT NULL,
	confirm_hash BLOB,
	confirm_sent INTEGER
);
CREATE INDEX IF NOT EXISTS newsletter_subscribers_status ON newsletter_subscribers (status, warnings);

CREATE TABLE IF NOT EXISTS newsletter_issues (
	id             INTEGER PRIMARY KEY,
	publication_id INTEGER NOT NULL,
	revision       INTEGER NOT NULL,
	audience       TEXT    NOT NULL,
	ident          TEXT    NOT NULL,
	publication    TEXT    NOT NULL, -- JSON
	queued         INTEGER NOT NULL,
	created        INTEGER NOT NULL,
	UNIQUE (publication_id, revision)
);

CREATE TABLE IF NOT EXISTS newsletter_sends (
	issue_id      INTEGER NOT NULL,
	subscriber_id INTEGER NOT NULL,
	status        TEXT    NOT NULL,
	attempts      INTEGER NOT NULL,
	next_attempt  INTEGER NOT NULL,
	detail        TEXT    NOT NULL,
	updated       INTEGER NOT NULL,
	PRIMARY KEY (issue_id, subscriber_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS newsletter_sends_due ON newsletter_sends (next_attempt, issue_id, subscriber_id) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS newsletter_sends_sending ON newsletter_sends (issue_id) WHERE status = 'sending';
CREATE INDEX IF NOT EXISTS newsletter_sends_subscriber ON newsletter_sends (subscriber_id);
