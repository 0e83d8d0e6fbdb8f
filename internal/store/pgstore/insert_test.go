package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/event"
)

// The INSERT batches were stored by before migration 17 (and when COPY
// was refused for a stored hash): the reference the tests hold COPY's
// rows to.

// insertEventsSQL inserts a whole batch in one statement from parallel
// arrays, skipping the events stored already: in any partition (NOT
// EXISTS), or being stored by a concurrent batch in the hot one, whose
// unique index on hash is the only one a partition's insert can conflict
// on (ON CONFLICT; a partitioned table has no unique index on hash alone).
// It is what a batch falls back to when COPY (copy.go) finds one of its
// events stored.
const insertEventsSQL = `INSERT INTO events (hash, time_source, stored, feed, taxonomy, type, tlp,
	src_ip, dst_ip, src_asn, dst_asn, src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, data)
SELECT u.hash, u.time_source, $1, u.feed, u.taxonomy, u.type, u.tlp,
	u.src_ip, u.dst_ip, u.src_asn, u.dst_asn, u.src_fqdn, u.dst_fqdn, u.src_url, u.dst_url, u.md5, u.sha1, u.sha256, u.data
FROM unnest($2::bytea[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[],
	$8::inet[], $9::inet[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[],
	$16::text[], $17::text[], $18::text[], $19::bytea[])
	AS u(hash, time_source, feed, taxonomy, type, tlp, src_ip, dst_ip, src_asn, dst_asn,
	src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, data)
WHERE NOT EXISTS (SELECT FROM events AS s WHERE s.hash = u.hash)
ON CONFLICT DO NOTHING`

// insertTaggedSQL is insertEventsSQL for a batch holding events of
// constituents (extra.constituency): the rows the insert reports (the new
// events only; those already stored are skipped by ON CONFLICT) are
// indexed by organisation and queued for notification in the same
// statement. $20 and $21 pair each tagged event's hash with one of its
// organisations. Batches without tagged events keep insertEventsSQL and
// pay nothing for this.
const insertTaggedSQL = `WITH ins AS (` + insertEventsSQL + ` RETURNING id, hash, time_source),
tags AS (
	SELECT ins.id, ins.time_source, t.org FROM ins JOIN unnest($20::bytea[], $21::text[]) AS t(hash, org) ON t.hash = ins.hash
),
indexed AS (
	INSERT INTO event_orgs (org, time_source, event_id) SELECT org, time_source, id FROM tags
),
queued AS (
	INSERT INTO notify_queue (org, event_id, stored) SELECT org, id, $1 FROM tags ORDER BY id, org
)
SELECT count(*) FROM ins`

// insertEvents stores the batch b in tx by insertEventsSQL (or
// insertTaggedSQL), skipping the events stored already, and returns how
// many it stored.
func insertEvents(ctx context.Context, tx pgx.Tx, b *batchColumns, now time.Time) (int, error) {
	inserted := 0
	args := []any{now,
		b.hash, b.timeSource, b.feed, b.taxonomy, b.typ, b.tlp,
		b.srcIP, b.dstIP, b.srcASN, b.dstASN, b.srcFQDN, b.dstFQDN, b.srcURL, b.dstURL,
		b.md5, b.sha1, b.sha256, eventRecords(b.events)}
	if len(b.tagHash) == 0 {
		tag, err := tx.Exec(ctx, insertEventsSQL, args...)
		if err != nil {
			return 0, fmt.Errorf("insert: %w", err)
		}
		inserted = int(tag.RowsAffected())
	} else {
		args = append(args, b.tagHash, b.tagOrg)
		if err := tx.QueryRow(ctx, insertTaggedSQL, args...).Scan(&inserted); err != nil {
			return 0, fmt.Errorf("insert: %w", err)
		}
	}
	return inserted, nil
}

// eventRecords are the records of events, as a row's data holds them.
func eventRecords(events []*event.Event) [][]byte {
	out := make([][]byte, len(events))
	for i, e := range events {
		out[i] = event.AppendRecord(nil, e)
	}
	return out
}
