-- Feed statistics per report type: one configured feed (the inbox, a
-- Shadowserver Reports API collector) brings many report types, each with
-- its own row keyed by (feed name, report); report '' is the feed's own
-- row, which keeps the totals counted before this migration. Rows read
-- with a warning are counted too. SQLite cannot change a primary key, so
-- the table is built anew and the rows copied.
CREATE TABLE feeds_by_report (
	name         TEXT    NOT NULL,
	report       TEXT    NOT NULL DEFAULT '',
	lines_read   INTEGER NOT NULL DEFAULT 0,
	events_out   INTEGER NOT NULL DEFAULT 0,
	dead_letters INTEGER NOT NULL DEFAULT 0,
	duplicates   INTEGER NOT NULL DEFAULT 0,
	warnings     INTEGER NOT NULL DEFAULT 0,
	last_run     INTEGER,
	last_error   TEXT    NOT NULL DEFAULT '',
	last_event   INTEGER,
	PRIMARY KEY (name, report)
) WITHOUT ROWID;
INSERT INTO feeds_by_report (name, report, lines_read, events_out, dead_letters, duplicates, last_run, last_error, last_event)
	SELECT name, '', lines_read, events_out, dead_letters, duplicates, last_run, last_error, last_event FROM feeds;
DROP TABLE feeds;
ALTER TABLE feeds_by_report RENAME TO feeds;
