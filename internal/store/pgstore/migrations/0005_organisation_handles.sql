-- Issue 8: an organisation's handle is never given again. Events keep the
-- handles they were tagged with (extra.constituency), the event index and
-- the notification tables are keyed by handle, and a pipeline that has not
-- yet seen a deletion still tags with it: an organisation created later
-- under the same handle would inherit all of that.
--
-- Every handle ever used has a row: written when its organisation is
-- created (in the same transaction, after the organisation's own row, so
-- that a conflict here can only mean an earlier owner, even when a delete
-- of that owner commits while the insert waits), marked retired when it is
-- deleted, never removed.
CREATE TABLE organisation_handles (
	handle  text        COLLATE "C" PRIMARY KEY,
	org_id  bigint      NOT NULL, -- 0 when deleted before this table existed
	retired timestamptz           -- NULL while in use
);

INSERT INTO organisation_handles (handle, org_id) SELECT handle, id FROM organisations;

-- The handles of organisations deleted before this migration that the
-- outbox or the event index still name, retired now. The event index is
-- walked one distinct handle at a time (a loose index scan over its
-- primary key), not row by row.
INSERT INTO organisation_handles (handle, org_id, retired)
	SELECT org, max(org_id), now() FROM outbox_messages
	WHERE org COLLATE "C" NOT IN (SELECT handle FROM organisations) GROUP BY org
	ON CONFLICT DO NOTHING;
INSERT INTO organisation_handles (handle, org_id, retired)
	WITH RECURSIVE tagged (org) AS (
		SELECT min(org) FROM event_orgs
		UNION ALL
		SELECT (SELECT min(o.org) FROM event_orgs AS o WHERE o.org > tagged.org) FROM tagged WHERE tagged.org IS NOT NULL
	)
	SELECT org, 0, now() FROM tagged WHERE org IS NOT NULL AND org NOT IN (SELECT handle FROM organisations)
	ON CONFLICT DO NOTHING;
