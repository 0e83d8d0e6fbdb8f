package sqlitestore

// The queue of events waiting to be notified, per organisation.

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// PendingNotificationOrgs lists the organisations with pending events, by
// handle.
func (s *Store) PendingNotificationOrgs(ctx context.Context) ([]store.PendingCount, error) {
	out, err := sqlkit.Query(ctx, s.read, `SELECT org, count(*), min(stored), min(event_id), max(event_id) FROM notify_queue
		GROUP BY org ORDER BY org`, nil, func(rows *sql.Rows) (store.PendingCount, error) {
		var (
			c      store.PendingCount
			oldest int64
		)
		err := rows.Scan(&c.Org, &c.Count, &oldest, &c.First, &c.Last)
		c.Oldest = time.UnixMicro(oldest).UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: pending notification organisations: %w", err)
	}
	return out, nil
}

// ListPendingNotifications returns org's pending events after afterSeq, in
// queue order, with the events (without raw and extra.constituency);
// limit is as EventQuery.Limit (default 50, at most 10000). An entry whose
// event is gone (removed by retention) comes without one, so that the
// notifier consumes it.
func (s *Store) ListPendingNotifications(ctx context.Context, org string, afterSeq int64, limit int) ([]store.PendingNotification, error) {
	if s.parts != nil {
		out, err := s.parts.listPending(ctx, org, afterSeq, limit)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: %w", org, err)
		}
		return out, nil
	}
	st, err := s.readStmt(ctx, `SELECT q.event_id, q.stored, e.hash, e.data FROM notify_queue AS q
		LEFT JOIN events AS e ON e.id = q.event_id
		WHERE q.org = ? AND q.event_id > ? ORDER BY q.event_id LIMIT ?`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: %w", org, err)
	}
	rows, err := st.QueryContext(ctx, org, afterSeq, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: %w", org, err)
	}
	out, err := sqlkit.Collect(rows, func(rows *sql.Rows) (store.PendingNotification, error) {
		var (
			p          = store.PendingNotification{Org: org}
			stored     int64
			hash, data []byte
			err        error
		)
		if err := rows.Scan(&p.Seq, &stored, &hash, &data); err != nil {
			return p, err
		}
		p.Stored = time.UnixMicro(stored).UTC()
		if hash != nil {
			copy(p.Hash[:], hash)
			if p.Event, err = decodeEvent(data); err != nil {
				return p, fmt.Errorf("event %s: %w", p.Hash, err)
			}
			store.WithoutWithheld(p.Event)
		}
		return p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: %w", org, err)
	}
	return out, nil
}

// queuedEntry is one entry of the queue: an event id and the index of
// its organisation.
type queuedEntry struct {
	id  int64
	org int32
}

// ScanPendingNotifications reads the whole queue (one row per organisation,
// its event ids joined), then the events from the lowest queued id to the
// highest in the order they are stored: the first half in the calling
// goroutine, handed to fn as it is read, the second half at the same time
// on another connection, handed to fn after the first.
func (s *Store) ScanPendingNotifications(ctx context.Context, fn func(store.PendingRecord) error) error {
	var (
		orgs    []string
		entries []queuedEntry
	)
	err := sqlkit.Each(ctx, s.read, `SELECT org, group_concat(event_id) FROM notify_queue GROUP BY org ORDER BY org`, nil, func(rows *sql.Rows) error {
		var (
			org string
			ids []byte
		)
		if err := rows.Scan(&org, &ids); err != nil {
			return err
		}
		orgs = append(orgs, org)
		for len(ids) > 0 {
			field, rest, _ := bytes.Cut(ids, []byte{','})
			id, err := strconv.ParseInt(string(field), 10, 64)
			if err != nil {
				return fmt.Errorf("queue of %s: %w", org, err)
			}
			entries = append(entries, queuedEntry{id, int32(len(orgs) - 1)})
			ids = rest
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	slices.SortFunc(entries, func(a, b queuedEntry) int {
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.org, b.org)
	})
	mid := len(entries) / 2
	for mid > 0 && entries[mid-1].id == entries[mid].id {
		mid-- // one event's entries stay together
	}
	type half struct {
		records []store.PendingRecord
		err     error
	}
	scan := scanEvents
	if s.parts != nil {
		scan = s.parts.scanEvents
	}
	second := make(chan half, 1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		var h half
		h.err = scan(sctx, s.read, orgs, entries[mid:], func(r store.PendingRecord) error {
			h.records = append(h.records, r)
			return nil
		})
		second <- h
	}()
	if err := scan(ctx, s.read, orgs, entries[:mid], fn); err != nil {
		cancel()
		<-second
		return err
	}
	h := <-second
	if h.err != nil {
		return h.err
	}
	for _, r := range h.records {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// queryer is what reading the queued events needs: the read pool or a
// read transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanEvents reads the events of entries (sorted by id) in one range scan
// and calls fn for each, with its organisations; a queued event that is
// gone comes without its record.
func scanEvents(ctx context.Context, q queryer, orgs []string, entries []queuedEntry, fn func(store.PendingRecord) error) error {
	if len(entries) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT id, hash, stored, data FROM events WHERE id BETWEEN ? AND ? ORDER BY id`,
		entries[0].id, entries[len(entries)-1].id)
	if err != nil {
		return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
	}
	defer rows.Close()
	// emit hands fn the entries of one event id, from entries[i] on, and
	// returns the index after them.
	emit := func(i int, r store.PendingRecord) (int, error) {
		r.Seq = entries[i].id
		for ; i < len(entries) && entries[i].id == r.Seq; i++ {
			r.Orgs = append(r.Orgs, orgs[entries[i].org])
		}
		return i, fn(r)
	}
	i := 0
	var hash sql.RawBytes // copied into the record's array at once
	for rows.Next() {
		var (
			r      store.PendingRecord
			id     int64
			stored int64
		)
		if err := rows.Scan(&id, &hash, &stored, &r.Record); err != nil {
			return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
		}
		for i < len(entries) && entries[i].id < id { // queued, but the event is gone
			if i, err = emit(i, store.PendingRecord{}); err != nil {
				return err
			}
		}
		if i == len(entries) || entries[i].id != id {
			continue // not queued
		}
		copy(r.Hash[:], hash)
		r.Stored = time.UnixMicro(stored).UTC()
		if i, err = emit(i, r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
	}
	for i < len(entries) {
		if i, err = emit(i, store.PendingRecord{}); err != nil {
			return err
		}
	}
	return nil
}
