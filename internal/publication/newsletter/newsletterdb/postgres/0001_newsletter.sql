-- The newsletter: its subscribers, the issues sent to them (a snapshot of
-- the publication each was made from) and one send per issue and
-- subscriber. The address is unique, in lower case. The sends have no
-- foreign keys: an issue's sends are written in its own transaction, a
-- subscriber's are deleted with it (DeleteSubscriber), and checking two
-- keys for each of 100,000 rows would double the time to queue an issue.
CREATE TABLE IF NOT EXISTS newsletter_subscribers (
	id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	address      text        COLLATE "C" NOT NULL UNIQUE,
	lang         text        NOT NULL,
	warnings     boolean     NOT NULL,
	status       text        NOT NULL,
	created      timestamptz NOT NULL,
	confirmed    timestamptz,
	changed      timestamptz NOT NULL,
	confirm_hash bytea,
	confirm_sent timestamptz
);
CREATE INDEX IF NOT EXISTS newsletter_subscribers_status ON newsletter_subscribers (status, warnings);

CREATE TABLE IF NOT EXISTS newsletter_issues (
	id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	publication_id bigint      NOT NULL,
	revision       integer     NOT NULL,
	audience       text        NOT NULL,
	ident          text        NOT NULL,
	publication    text        NOT NULL, -- JSON
	queued         integer     NOT NULL,
	created        timestamptz NOT NULL,
	UNIQUE (publication_id, revision)
);

CREATE TABLE IF NOT EXISTS newsletter_sends (
	issue_id      bigint      NOT NULL,
	subscriber_id bigint      NOT NULL,
	status        text        NOT NULL,
	attempts      integer     NOT NULL,
	next_attempt  timestamptz NOT NULL,
	detail        text        NOT NULL,
	updated       timestamptz NOT NULL,
	PRIMARY KEY (issue_id, subscriber_id)
);
CREATE INDEX IF NOT EXISTS newsletter_sends_due ON newsletter_sends (next_attempt, issue_id, subscriber_id) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS newsletter_sends_sending ON newsletter_sends (issue_id) WHERE status = 'sending';
CREATE INDEX IF NOT EXISTS newsletter_sends_subscriber ON newsletter_sends (subscriber_id);
