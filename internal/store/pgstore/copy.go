package pgstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/event"
)

// The batch's events are written with COPY … FROM STDIN BINARY, the
// cheapest way into PostgreSQL: no statement to plan, no arrays to build
// and unpack, each value sent once in its binary form. COPY cannot skip a
// row whose hash is stored already, as ON CONFLICT DO NOTHING does, so it
// is the first try only: inside a savepoint, and when the batch holds no
// hash twice. A unique violation (an event stored before, or being stored
// by a concurrent batch that then commits) rolls the savepoint back and
// the batch is inserted by insertEventsSQL instead, which skips what is
// stored, as before. Both give the same rows.
//
// COPY returns no ids, so the batch reserves its ids first, from the
// events' own identity sequence, and writes them itself; the rows of
// event_orgs and notify_queue of its tagged events are then copied too,
// knowing their ids. The ids are reserved only after the batch holds the
// events table in ROW EXCLUSIVE mode, which keeps EventsAfter's guarantee:
// a follower's SHARE lock waits for every transaction that may still
// write an id it has handed out, so an id at or below the highest it reads
// is committed or never will be.

// eventCopyColumns are the columns the batch copies, in copyEventsSource's
// order.
var eventCopyColumns = []string{"id", "hash", "time_source", "stored", "feed", "taxonomy", "type", "tlp",
	"src_ip", "dst_ip", "src_asn", "dst_asn", "src_fqdn", "dst_fqdn", "src_url", "dst_url", "md5", "sha1", "sha256", "data"}

// copyEventsSource hands COPY the rows of a batch from its columns; one
// slice of values serves every row, since COPY encodes a row before it
// asks for the next.
type copyEventsSource struct {
	b     *batchColumns
	ids   []int64
	now   time.Time
	i     int
	value []any
}

func (c *copyEventsSource) Next() bool { c.i++; return c.i <= len(c.ids) }

func (c *copyEventsSource) Values() ([]any, error) {
	i, b := c.i-1, c.b
	c.value = append(c.value[:0], c.ids[i], b.hash[i], b.timeSource[i], c.now, b.feed[i], b.taxonomy[i], b.typ[i], b.tlp[i],
		b.srcIP[i], b.dstIP[i], b.srcASN[i], b.dstASN[i], b.srcFQDN[i], b.dstFQDN[i], b.srcURL[i], b.dstURL[i],
		b.md5[i], b.sha1[i], b.sha256[i], b.data[i])
	return c.value, nil
}

func (c *copyEventsSource) Err() error { return nil }

// repeatsHash reports whether a hash occurs twice in the batch, which COPY
// would refuse where ON CONFLICT keeps the first.
func repeatsHash(hashes [][]byte) bool {
	seen := make(map[event.Hash]struct{}, len(hashes))
	for _, h := range hashes {
		k := event.Hash(h)
		if _, ok := seen[k]; ok {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}

// copyEvents tries to store the batch b with COPY in tx (see above). ok is
// false, with tx as it was, when some event is stored already: the caller
// inserts the batch by insertEventsSQL then.
func copyEvents(ctx context.Context, tx pgx.Tx, b *batchColumns, now time.Time) (inserted int, ok bool, err error) {
	n := len(b.hash)
	if repeatsHash(b.hash) {
		return 0, false, nil
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE events IN ROW EXCLUSIVE MODE`); err != nil {
		return 0, false, fmt.Errorf("lock events: %w", err)
	}
	// The sequence's name is looked up once (OFFSET 0 keeps the subquery
	// apart), not once an id: that lookup was a tenth of the server's time.
	rows, err := tx.Query(ctx, `SELECT nextval(q.seq) FROM (SELECT pg_get_serial_sequence('events', 'id')::regclass AS seq OFFSET 0) AS q
		CROSS JOIN generate_series(1, $1)`, n)
	if err != nil {
		return 0, false, fmt.Errorf("reserve ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, false, fmt.Errorf("reserve ids: %w", err)
	}
	if len(ids) != n {
		return 0, false, fmt.Errorf("reserve ids: %d of %d", len(ids), n)
	}
	// Two batches reserving at once may interleave; within a batch, ids
	// follow the events' order, as the INSERT gave them.
	slices.Sort(ids)
	if _, err := tx.Exec(ctx, `SAVEPOINT copy_events`); err != nil {
		return 0, false, fmt.Errorf("copy events: %w", err)
	}
	src := &copyEventsSource{b: b, ids: ids, now: now, value: make([]any, 0, len(eventCopyColumns))}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventCopyColumns, src); err != nil {
		if !isUnique(err) {
			return 0, false, fmt.Errorf("copy events: %w", err)
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT copy_events`); err != nil {
			return 0, false, fmt.Errorf("copy events: %w", err)
		}
		return 0, false, nil
	}
	if len(b.tagEvent) > 0 {
		orgs := make([][]any, len(b.tagEvent))
		queue := make([][]any, len(b.tagEvent))
		for j, i := range b.tagEvent {
			orgs[j] = []any{b.tagOrg[j], b.timeSource[i], ids[i]}
			queue[j] = []any{b.tagOrg[j], ids[i], now}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"event_orgs"}, []string{"org", "time_source", "event_id"}, pgx.CopyFromRows(orgs)); err != nil {
			return 0, false, fmt.Errorf("copy event organisations: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"notify_queue"}, []string{"org", "event_id", "stored"}, pgx.CopyFromRows(queue)); err != nil {
			return 0, false, fmt.Errorf("copy notification queue: %w", err)
		}
	}
	return n, true, nil
}
