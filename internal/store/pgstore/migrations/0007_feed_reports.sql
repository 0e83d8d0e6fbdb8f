-- Feed statistics per report type: one configured feed (the inbox, a
-- Shadowserver Reports API collector) brings many report types, each with
-- its own row keyed by (feed name, report); report '' is the feed's own
-- row, which keeps the totals counted before this migration. Rows read
-- with a warning are counted too.
ALTER TABLE feeds ADD COLUMN report text NOT NULL DEFAULT '';
ALTER TABLE feeds ADD COLUMN warnings bigint NOT NULL DEFAULT 0;
ALTER TABLE feeds DROP CONSTRAINT feeds_pkey;
ALTER TABLE feeds ADD PRIMARY KEY (name, report);
