package sqlitestore

// The queue of events waiting to be notified, per organisation.

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
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

// NotifyHorizon returns the highest Seq queued: SQLite's one writer
// gives ids in the order batches commit, so whatever commits later has a
// higher one.
func (s *Store) NotifyHorizon(ctx context.Context) (int64, error) {
	var horizon int64
	if err := s.read.QueryRowContext(ctx, `SELECT coalesce(max(event_id), 0) FROM notify_queue`).Scan(&horizon); err != nil {
		return 0, fmt.Errorf("sqlitestore: notify horizon: %w", err)
	}
	return horizon, nil
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
// highest in the order they are stored, in segments of about equal
// numbers of entries on two connections (readSegments): the calling
// goroutine takes them from the front, handing fn their pages as it
// reads them, another from the back, keeping its pages until those of
// the front are handed over. Every page is handed over Kept: a reader
// that keeps the records (the notifier's pass) need not copy them.
func (s *Store) ScanPendingNotifications(ctx context.Context, fn func(*store.PendingPage) error) error {
	var (
		orgs []string
		// ids holds each organisation's ids, made to size from the row:
		// appended to one list, a morning's million entries would be
		// copied again at every growth of it, on the path every pass
		// waits for.
		ids [][]int64
	)
	err := sqlkit.Each(ctx, s.read, `SELECT org, group_concat(event_id) FROM notify_queue GROUP BY org ORDER BY org`, nil, func(rows *sql.Rows) error {
		var (
			org  string
			list sql.RawBytes
		)
		if err := rows.Scan(&org, &list); err != nil {
			return err
		}
		orgs = append(orgs, org)
		own := make([]int64, 0, bytes.Count(list, []byte{','})+1)
		for len(list) > 0 {
			field, rest, _ := bytes.Cut(list, []byte{','})
			id, err := strconv.ParseInt(string(field), 10, 64)
			if err != nil {
				return fmt.Errorf("queue of %s: %w", org, err)
			}
			own = append(own, id)
			list = rest
		}
		ids = append(ids, own)
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
	}
	entries := sortEntries(ids)
	if len(entries) == 0 {
		return nil
	}
	newScan := func() segmentScan {
		return func(ctx context.Context, entries []queuedEntry, first *store.PendingPage, sink pageSink) error {
			return scanEvents(ctx, s.read, orgs, entries, first, sink)
		}
	}
	if s.parts != nil {
		newScan = func() segmentScan { return s.parts.segmentScan(orgs) }
	}
	return readSegments(ctx, entries, newScan, fn)
}

// segmentScan reads the events of entries (sorted by id) and hands them
// to sink a page at a time, filling first first (a new page when nil);
// one is used by one goroutine, which it may keep buffers for from one
// call to the next.
type segmentScan func(ctx context.Context, entries []queuedEntry, first *store.PendingPage, sink pageSink) error

// segmentEntries is about how many entries a segment of readSegments
// holds at least (sixteen pages' worth): a queue of fewer than twice as
// many is read in two halves.
const segmentEntries = 16 * store.PendingPageEvents

// maxSegments bounds the segments of readSegments: the two goroutines
// end within a sixteenth of the read of each other.
const maxSegments = 16

// readSegments reads entries in segments from both ends, with a scan
// made by newScan for each of two goroutines, and hands fn every page in
// the order of entries, each Kept. The goroutines meet where their reads
// take the same time, whatever each segment costs and although the
// calling goroutine also runs fn: two halves made equal by count ended
// some 0.4 s of CPU apart in a pass over a million entries. Each
// goroutine places its pages' records in its own slabs (recordSlabs),
// each page's capped to what it holds as it is handed over.
func readSegments(ctx context.Context, entries []queuedEntry, newScan func() segmentScan, fn func(*store.PendingPage) error) error {
	bounds := segmentBounds(entries, min(maxSegments, max(2, len(entries)/segmentEntries)))
	segments := len(bounds) - 1
	var (
		mu          sync.Mutex
		front, back = 0, segments // the next from each end, guarded by mu
	)
	next := func(fromBack bool) (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case front >= back:
			return 0, false
		case fromBack:
			back--
			return back, true
		default:
			front++
			return front - 1, true
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// kept holds the back's pages by segment; ahead is what they hold
	// until they are handed over: the pages' Ahead.
	kept := make([][]*store.PendingPage, segments)
	var ahead atomic.Int64
	backDone := make(chan error, 1)
	go func() {
		scan, full := newScan(), (*store.PendingPage)(nil)
		var slabs recordSlabs
		defer slabs.done()
		for {
			k, ok := next(true)
			if !ok {
				backDone <- nil
				return
			}
			err := scan(sctx, entries[bounds[k]:bounds[k+1]], slabs.sizedLike(full), func(p *store.PendingPage) (*store.PendingPage, error) {
				slabs.handOver(p)
				kept[k] = append(kept[k], p) // kept: a new page for the next
				ahead.Add(p.Footprint())
				if p.Full() {
					full = p
				}
				return slabs.sized(p), nil
			})
			if err != nil {
				backDone <- err
				return
			}
		}
	}()
	scan, full := newScan(), (*store.PendingPage)(nil)
	var slabs recordSlabs
	defer slabs.done()
	for {
		k, ok := next(false)
		if !ok {
			break
		}
		err := scan(ctx, entries[bounds[k]:bounds[k+1]], slabs.sizedLike(full), func(p *store.PendingPage) (*store.PendingPage, error) {
			slabs.handOver(p)
			p.Kept, p.Ahead = true, ahead.Load()
			if p.Full() {
				full = p // read only, as fn does
			}
			if err := fn(p); err != nil {
				return nil, err
			}
			return slabs.sized(p), nil
		})
		if err != nil {
			cancel()
			<-backDone
			return err
		}
	}
	if err := <-backDone; err != nil {
		return err
	}
	for _, pages := range kept { // the front's segments kept none
		for _, p := range pages {
			p.Kept, p.Ahead = true, ahead.Add(-p.Footprint())
			if err := fn(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// segmentBounds cuts entries into n segments of about equal numbers of
// entries and returns their bounds, one event's entries in one segment;
// none is empty.
func segmentBounds(entries []queuedEntry, n int) []int {
	bounds := []int{0}
	for k := 1; k < n; k++ {
		at := len(entries) * k / n
		for at > 0 && entries[at-1].id == entries[at].id {
			at-- // one event's entries stay together
		}
		if at > bounds[len(bounds)-1] {
			bounds = append(bounds, at)
		}
	}
	if len(entries) > bounds[len(bounds)-1] {
		bounds = append(bounds, len(entries))
	}
	return bounds
}

// sortEntries returns the queue's entries, ids[org] being the ids of
// organisation org (as the queue's rows are read, ORDER BY org), sorted
// by id, then organisation: by counting when the ids are dense, as a
// morning's queue is (its million entries then take a few milliseconds
// instead of a tenth of a second), else by comparing. Counting is
// stable, so an id's entries keep the order of their organisations; its
// counts are 32-bit, half the memory.
func sortEntries(ids [][]int64) []queuedEntry {
	var (
		n               int
		lowest, highest int64
	)
	for _, own := range ids {
		for _, id := range own {
			if n == 0 {
				lowest, highest = id, id
			}
			lowest, highest = min(lowest, id), max(highest, id)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if span := highest - lowest + 1; span < 0 || span > 4*int64(n) || n >= math.MaxInt32 {
		entries := make([]queuedEntry, 0, n)
		for org, own := range ids {
			for _, id := range own {
				entries = append(entries, queuedEntry{id, int32(org)})
			}
		}
		slices.SortFunc(entries, func(a, b queuedEntry) int {
			if c := cmp.Compare(a.id, b.id); c != 0 {
				return c
			}
			return cmp.Compare(a.org, b.org)
		})
		return entries
	}
	at := make([]int32, highest-lowest+2)
	for _, own := range ids {
		for _, id := range own {
			at[id-lowest+1]++
		}
	}
	for i := 1; i < len(at); i++ {
		at[i] += at[i-1]
	}
	out := make([]queuedEntry, n)
	for org, own := range ids {
		for _, id := range own {
			k := id - lowest
			out[at[k]] = queuedEntry{id, int32(org)}
			at[k]++
		}
	}
	return out
}

// queryer is what reading the queued events needs: the read pool or a
// read transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// pageSink takes a full page of pending events and returns the page to
// fill next: the same one emptied, or a new one.
type pageSink func(*store.PendingPage) (*store.PendingPage, error)

// queuePager fills pages with the queued events of entries (sorted by
// id), in id order, and hands each to its sink once full.
type queuePager struct {
	orgs    []string
	entries []queuedEntry
	next    int // the first entry not yet added
	page    *store.PendingPage
	sink    pageSink
	waiting []int32
}

func newQueuePager(orgs []string, entries []queuedEntry, first *store.PendingPage, sink pageSink) *queuePager {
	if first == nil {
		first = &store.PendingPage{Orgs: orgs}
	}
	return &queuePager{orgs: orgs, entries: entries, page: first, sink: sink}
}

// add adds the event id (with its hash, time stored and record) for the
// organisations whose queue holds it, first adding as gone the queued
// events before it that were not found. An event that is not queued is
// skipped.
func (p *queuePager) add(id int64, hash event.Hash, stored int64, record []byte) error {
	for p.next < len(p.entries) && p.entries[p.next].id < id { // queued, but the event is gone
		if err := p.emit(p.entries[p.next].id, event.Hash{}, 0, nil); err != nil {
			return err
		}
	}
	if p.next == len(p.entries) || p.entries[p.next].id != id {
		return nil // not queued
	}
	if record == nil {
		record = []byte{} // stored, though empty: not gone
	}
	return p.emit(id, hash, stored, record)
}

// emit adds the entries of event id, from p.next on, and hands the page
// over when it is full.
func (p *queuePager) emit(id int64, hash event.Hash, stored int64, record []byte) error {
	p.waiting = p.waiting[:0]
	for ; p.next < len(p.entries) && p.entries[p.next].id == id; p.next++ {
		p.waiting = append(p.waiting, p.entries[p.next].org)
	}
	p.page.Add(id, hash, stored, record, p.waiting...)
	if !p.page.Full() {
		return nil
	}
	var err error
	p.page, err = p.sink(p.page)
	return err
}

// finish adds the queued events left as gone and hands over the last
// page.
func (p *queuePager) finish() error {
	for p.next < len(p.entries) {
		if err := p.emit(p.entries[p.next].id, event.Hash{}, 0, nil); err != nil {
			return err
		}
	}
	if p.page.Len() == 0 {
		return nil
	}
	_, err := p.sink(p.page)
	return err
}

// scanEvents reads the events of entries (sorted by id) in one range scan
// and hands them to sink a page at a time, each with its organisations; a
// queued event that is gone comes without its record.
func scanEvents(ctx context.Context, q queryer, orgs []string, entries []queuedEntry, first *store.PendingPage, sink pageSink) error {
	if len(entries) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT id, hash, stored, data FROM events WHERE id BETWEEN ? AND ? ORDER BY id`,
		entries[0].id, entries[len(entries)-1].id)
	if err != nil {
		return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
	}
	defer rows.Close()
	pager := newQueuePager(orgs, entries, first, sink)
	// Both are copied into the page at once.
	var hash, data sql.RawBytes
	for rows.Next() {
		var (
			id, stored int64
			h          event.Hash
		)
		if err := rows.Scan(&id, &hash, &stored, &data); err != nil {
			return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
		}
		copy(h[:], hash)
		if err := pager.add(id, h, stored, data); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
	}
	return pager.finish()
}
