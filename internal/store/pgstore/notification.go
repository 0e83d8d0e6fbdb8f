package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/notifylayout"
)

// PendingNotificationOrgs lists the organisations with pending events, by
// handle.
func (s *Store) PendingNotificationOrgs(ctx context.Context) ([]store.PendingCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT org, count(*), min(stored), min(event_id), max(event_id) FROM notify_queue
		GROUP BY org ORDER BY org`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: pending notification organisations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.PendingCount, error) {
		var c store.PendingCount
		err := row.Scan(&c.Org, &c.Count, &c.Oldest, &c.First, &c.Last)
		c.Oldest = c.Oldest.UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: pending notification organisations: %w", err)
	}
	return out, nil
}

// ListPendingNotifications returns org's pending events after afterSeq, in
// queue order, with the events; limit is as EventQuery.Limit (default 50,
// at most 10000). With concurrent writers a lower seq may still commit
// after a higher one was listed, so a pass of the notifier starts again
// from 0 rather than from the last seq of the previous pass.
func (s *Store) ListPendingNotifications(ctx context.Context, org string, afterSeq int64, limit int) ([]store.PendingNotification, error) {
	// The queue's id and stored time, the event's hash (NULL when the
	// event is gone: retention) and record.
	found, err := storedEvents(ctx, s.pool, `SELECT q.event_id, e.hash, q.stored, e.time_source, `+recordCols("e.")+` FROM notify_queue AS q
		LEFT JOIN events AS e ON e.id = q.event_id
		WHERE q.org = $1 AND q.event_id > $2 ORDER BY q.event_id LIMIT $3`, org, afterSeq, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("pgstore: list pending notifications of %s: %w", org, err)
	}
	out := make([]store.PendingNotification, len(found))
	for i, se := range found {
		out[i] = store.PendingNotification{Org: org, Seq: se.Seq, Stored: se.Stored, Hash: se.Hash, Event: se.Event}
		if se.Event != nil { // else gone: consumed without it
			store.WithoutWithheld(se.Event)
		}
	}
	return out, nil
}

// NotifyHorizon returns the highest event id once no insert is in
// progress (committedHorizon): a queue entry is committed with its event.
func (s *Store) NotifyHorizon(ctx context.Context) (int64, error) {
	horizon, err := s.committedHorizon(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstore: notify horizon: %w", err)
	}
	return horizon, nil
}

// scanPendingSQL reads every pending event with the organisations it
// waits for, in order of id. A row whose event is in a block carries the
// block when it is the first of the block's pending events (first), and
// in_block is how many of them there are: the reader keeps the block
// until it has read them all. Two batches whose ids interleave (their ids
// are reserved at once) then still send each block once, not once for
// every change of block from row to row. The blocks are read above the
// sort by id (w comes out in that order), so the sort does not carry them.
const scanPendingSQL = `SELECT w.event_id, w.orgs, w.hash, w.stored, w.data, w.block_id, w.block_slot, w.in_block,
		CASE WHEN w.first THEN (SELECT b.data FROM event_blocks AS b WHERE b.id = w.block_id) END
	FROM (SELECT g.*, g.block_id IS NOT NULL AND row_number() OVER (PARTITION BY g.block_id ORDER BY g.event_id) = 1 AS first,
			count(*) OVER (PARTITION BY g.block_id) AS in_block
		FROM (SELECT q.event_id, array_agg(q.org ORDER BY q.org) AS orgs, e.hash, e.stored, e.data, e.block_id, e.block_slot
			FROM notify_queue AS q LEFT JOIN events AS e ON e.id = q.event_id
			GROUP BY q.event_id, e.hash, e.stored, e.data, e.block_id, e.block_slot) AS g
		ORDER BY g.event_id) AS w
	ORDER BY w.event_id`

// ScanPendingNotifications reads every pending event with the
// organisations it waits for, in one query (scanPendingSQL), and hands
// them to fn a page at a time, one page reused.
func (s *Store) ScanPendingNotifications(ctx context.Context, fn func(*store.PendingPage) error) error {
	rows, err := s.pool.Query(ctx, scanPendingSQL)
	if err != nil {
		return fmt.Errorf("pgstore: scan pending notifications: %w", err)
	}
	defer rows.Close()
	// open are the blocks read and not yet used by all their events.
	type openBlock struct {
		recs [][]byte
		left int64
	}
	var (
		page    store.PendingPage
		index   = map[string]int32{} // into page.Orgs
		waiting []int32
		orgs    []string
		seq     int64
		hash    []byte
		stored  pgtype.Timestamptz
		ref     recordRef
		inBlock int64
		block   []byte
		open    = map[int64]*openBlock{}
	)
	// The array and the byte columns are scanned into the same variables
	// row after row, which pgx reuses; the page copies what it keeps.
	for rows.Next() {
		ref = recordRef{}
		block = nil
		if err := rows.Scan(append(append([]any{&seq, &orgs, &hash, &stored}, ref.dest()...), &inBlock, &block)...); err != nil {
			return fmt.Errorf("pgstore: scan pending notifications: %w", err)
		}
		if block != nil {
			recs, err := unpackBlock(block)
			if err != nil {
				return fmt.Errorf("pgstore: scan pending notifications: event block %d: %w", ref.block.Int64, err)
			}
			open[ref.block.Int64] = &openBlock{recs: recs, left: inBlock}
		}
		waiting = waiting[:0]
		for _, org := range orgs {
			i, ok := index[org]
			if !ok {
				i = int32(len(page.Orgs))
				index[org] = i
				page.Orgs = append(page.Orgs, org)
			}
			waiting = append(waiting, i)
		}
		var (
			h      event.Hash
			micros int64
			record []byte
		)
		if hash != nil { // else the event is gone (retention)
			copy(h[:], hash)
			micros = stored.Time.UnixMicro()
			record = ref.data
			if record == nil {
				b := open[ref.block.Int64]
				if b == nil || !ref.slot.Valid || ref.slot.Int32 < 0 || int(ref.slot.Int32) >= len(b.recs) {
					return fmt.Errorf("pgstore: scan pending notifications: event %d: no record %d in block %d", seq, ref.slot.Int32, ref.block.Int64)
				}
				record = b.recs[ref.slot.Int32]
				if b.left--; b.left == 0 {
					delete(open, ref.block.Int64)
				}
			}
		}
		page.Add(seq, h, micros, record, waiting...)
		if page.Full() {
			if err := fn(&page); err != nil {
				return err
			}
			page.Reset()
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgstore: scan pending notifications: %w", err)
	}
	if page.Len() > 0 {
		return fn(&page)
	}
	return nil
}

// migrateNotifyLayout is the Go step of migration 3: the rows of
// message_events become the lists of their messages, and those of
// notified_keys one set and one tally per organisation.
func migrateNotifyLayout(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT m.message_id, e.id FROM message_events AS m JOIN events AS e ON e.hash = m.event_hash`)
	if err != nil {
		return fmt.Errorf("read message_events: %w", err)
	}
	byMessage := map[int64][]int64{}
	var msg, ev int64
	if _, err := pgx.ForEachRow(rows, []any{&msg, &ev}, func() error {
		byMessage[msg] = append(byMessage[msg], ev)
		return nil
	}); err != nil {
		return fmt.Errorf("read message_events: %w", err)
	}
	for msg, ids := range byMessage {
		list, first, last := notifylayout.EventIDs(ids)
		if _, err := tx.Exec(ctx, `UPDATE outbox_messages SET first_event = $1, last_event = $2, event_ids = $3 WHERE id = $4`,
			first, last, list, msg); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `DROP TABLE message_events`); err != nil {
		return err
	}
	return convertNotifiedKeys(ctx, tx)
}

// convertNotifiedKeys turns the rows of notified_keys into one set and one
// tally per organisation.
func convertNotifiedKeys(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT org, key, first_sent, expires, repeats, summary FROM notified_keys`)
	if err != nil {
		return fmt.Errorf("read notified_keys: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (notifylayout.Key, error) {
		var (
			k   notifylayout.Key
			key []byte
		)
		err := row.Scan(&k.Org, &key, &k.FirstSent, &k.Expires, &k.Repeats, &k.Summary)
		copy(k.Key[:], key)
		return k, err
	})
	if err != nil {
		return fmt.Errorf("read notified_keys: %w", err)
	}
	if len(all) > 0 {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM notified_sets`).Scan(&id); err != nil {
			return err
		}
		orgs, sets, expires := notifylayout.Sets(all)
		if _, err := tx.Exec(ctx, `INSERT INTO notified_sets (org, id, expires, keys)
			SELECT o, $1, e, k FROM unnest($2::text[], $3::timestamptz[], $4::bytea[]) AS t(o, e, k)`, id, orgs, expires, sets); err != nil {
			return err
		}
	}
	for org, tally := range notifylayout.Tallies(all) {
		if _, err := tx.Exec(ctx, `INSERT INTO notify_tallies (org, tally) VALUES ($1, $2)`, org, tally); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `DROP TABLE notified_keys`)
	return err
}
