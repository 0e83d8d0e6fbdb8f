// Package queuesql consumes entries of the event store's queue of events
// to notify (notify_queue) in a transaction the store did not open: the
// notifier's commit (internal/notify/told) queues a pass's messages
// and consumes what they report in one transaction, so that a crash
// before it leaves everything pending and after it everything queued. The
// queue is filled and read by the stores themselves, when events are
// stored and when a pass reads it.
package queuesql

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// ConsumePending removes, in tx, the queue entries done names: by
// organisation, the ids (PendingNotification.Seq) of the events it has
// handled. An id consumed twice or never queued is no error.
//
// The dialects take different strategies. SQLite removes an
// organisation's entries as one range when they are all its entries
// between the first and the last (the usual case, a digest), else by a
// list, with statements prepared once per call. PostgreSQL names the
// entries one by one, in one statement for any number: with concurrent
// writers an entry inside a range read can commit after the read.
func ConsumePending(ctx context.Context, tx sqlkit.DB, done map[string][]int64) error {
	if len(done) == 0 {
		return nil
	}
	if tx.Dialect() == sqlkit.Postgres {
		var (
			orgs []string
			seqs []int64
		)
		for org, list := range done {
			for _, seq := range list {
				orgs, seqs = append(orgs, org), append(seqs, seq)
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM notify_queue AS q USING unnest(?::text[], ?::bigint[]) AS d(org, event_id)
			WHERE q.org = d.org AND q.event_id = d.event_id`, orgs, seqs)
		return err
	}
	var st rangeStatements
	defer st.close()
	if err := st.prepare(ctx, tx); err != nil {
		return err
	}
	for _, org := range slices.Sorted(maps.Keys(done)) {
		if err := st.consume(ctx, org, done[org]); err != nil {
			return err
		}
	}
	return nil
}

// rangeStatements are SQLite's statements run once per organisation.
type rangeStatements struct {
	countRange, deleteRange, delete *sqlkit.Stmt
}

func (c *rangeStatements) prepare(ctx context.Context, tx sqlkit.DB) error {
	for _, p := range []struct {
		dst   **sqlkit.Stmt
		query string
	}{
		{&c.countRange, `SELECT count(*) FROM notify_queue WHERE org = ? AND event_id BETWEEN ? AND ?`},
		{&c.deleteRange, `DELETE FROM notify_queue WHERE org = ? AND event_id BETWEEN ? AND ?`},
		{&c.delete, `DELETE FROM notify_queue WHERE org = ? AND event_id IN (SELECT value FROM json_each(?))`},
	} {
		st, err := sqlkit.Prepare(ctx, tx, p.query)
		if err != nil {
			return err
		}
		*p.dst = st
	}
	return nil
}

func (c *rangeStatements) close() {
	for _, st := range []*sqlkit.Stmt{c.countRange, c.deleteRange, c.delete} {
		if st != nil {
			st.Close()
		}
	}
}

// consume removes org's consumed entries: one range when they are all its
// entries between the first and the last, else one by one.
func (c *rangeStatements) consume(ctx context.Context, org string, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	seqs = slices.Compact(slices.Sorted(slices.Values(seqs)))
	lo, hi := seqs[0], seqs[len(seqs)-1]
	var n int
	if err := c.countRange.QueryRow(ctx, org, lo, hi).Scan(&n); err != nil {
		return err
	}
	if n == len(seqs) {
		_, err := c.deleteRange.Exec(ctx, org, lo, hi)
		return err
	}
	_, err := c.delete.Exec(ctx, org, int64List(seqs))
	return err
}

// int64List is list as a JSON array, for json_each.
func int64List(list []int64) string {
	b := make([]byte, 0, len(list)*8+2)
	b = append(b, '[')
	for i, v := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(append(b, ']'))
}
