package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// readAfter reads every event after Seq after in pages of limit, and
// returns them and the last Seq read.
func readAfter(t *testing.T, s store.Store, after int64, limit int) ([]store.StoredEvent, int64) {
	t.Helper()
	var all []store.StoredEvent
	for {
		page, err := s.EventsAfter(t.Context(), after, limit)
		if err != nil {
			t.Fatalf("EventsAfter(%d): %v", after, err)
		}
		if len(page) == 0 {
			return all, after
		}
		for _, se := range page {
			if se.Seq <= after {
				t.Fatalf("EventsAfter(%d) returned Seq %d, not after it", after, se.Seq)
			}
			after = se.Seq
		}
		all = append(all, page...)
	}
}

func testEventsAfter(t *testing.T, s store.Store) {
	if list, err := s.EventsAfter(t.Context(), 0, 10); err != nil || len(list) != 0 {
		t.Fatalf("EventsAfter on no events = %d, %v", len(list), err)
	}
	g := NewGenerator(7)
	first, second := g.Batch(25), g.Batch(10)
	insert(t, s, first, nil)
	got, last := readAfter(t, s, 0, 7)
	if len(got) != len(first) {
		t.Fatalf("read %d events, want %d", len(got), len(first))
	}
	for i, se := range got {
		if se.Hash != first[i].Hash() || se.Event.Hash() != first[i].Hash() || se.Stored.IsZero() {
			t.Errorf("event %d: %s stored %v, want %s in the order stored", i, se.Hash, se.Stored, first[i].Hash())
		}
	}
	// Stored again, an event keeps its place; only the new ones follow.
	insert(t, s, append(first[:5:5], second...), nil)
	more, _ := readAfter(t, s, last, 1000)
	if len(more) != len(second) {
		t.Fatalf("after %d: read %d events, want the %d new ones", last, len(more), len(second))
	}
	for i, se := range more {
		if se.Hash != second[i].Hash() {
			t.Errorf("new event %d is %s, want %s", i, se.Hash, second[i].Hash())
		}
	}
}

// testEventsAfterConcurrent follows the store while four writers insert:
// the follower must read every event exactly once, which with PostgreSQL
// needs EventsAfter to wait for the inserts in progress (a batch with
// lower ids can commit after one with higher ids).
func testEventsAfterConcurrent(t *testing.T, s store.Store) {
	const writers, batches, size = 4, 12, 50
	g := NewGenerator(31)
	all := make([][]*event.Event, writers*batches)
	for i := range all {
		all[i] = g.Batch(size)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if _, err := s.InsertEvents(t.Context(), all[w*batches+b], nil); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[event.Hash]int{}
	var after int64
	follow := func() {
		var page []store.StoredEvent
		page, after = readAfter(t, s, after, 37)
		for _, se := range page {
			seen[se.Hash]++
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		follow()
	}
	follow()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	missing := 0
	for _, batch := range all {
		for _, e := range batch {
			switch seen[e.Hash()] {
			case 1:
			case 0:
				missing++
			default:
				t.Errorf("event %s read %d times", e.Hash(), seen[e.Hash()])
			}
		}
	}
	if missing > 0 || len(seen) != writers*batches*size {
		t.Errorf("follower read %d events, missed %d of %d", len(seen), missing, writers*batches*size)
	}
}

// testEventsAfterHeldInsert holds an insert open (its id given, not
// committed) while a later insert commits, then follows: the follower
// must not move past the held event's id before it commits. SQLite's one
// writer cannot have two inserts open at once, so there the follower
// just reads both in order.
func testEventsAfterHeldInsert(t *testing.T, s store.Store) {
	if l, ok := s.(interface{ EventLayout() string }); ok && l.EventLayout() != "rows" {
		t.Skip("the held insert writes a row of the events table, which this layout does not read")
	}
	g := NewGenerator(41)
	held, later := g.Event(), g.Event()
	inserted, release := make(chan struct{}), make(chan struct{})
	heldDone := make(chan error, 1)
	go func() {
		heldDone <- s.DB().Tx(context.WithoutCancel(t.Context()), func(tx sqlkit.DB) error {
			h := held.Hash()
			now := time.Now()
			_, err := tx.Exec(t.Context(), `INSERT INTO events (hash, time_source, stored, data) VALUES (?, ?, ?, ?)`,
				h[:], tx.Dialect().Time(now), tx.Dialect().Time(now), event.AppendRecord(nil, held))
			close(inserted)
			<-release
			return err
		})
	}()
	<-inserted
	var page []store.StoredEvent
	if s.DB().Dialect() == sqlkit.Postgres {
		insert(t, s, []*event.Event{later}, nil)
		read := make(chan []store.StoredEvent, 1)
		go func() {
			list, err := s.EventsAfter(t.Context(), 0, 10)
			if err != nil {
				t.Errorf("EventsAfter: %v", err)
			}
			read <- list
		}()
		// Release the held insert once the follower waits for it (or
		// has answered without waiting, which the check below refuses).
		for waiting := false; !waiting; {
			select {
			case page = <-read:
				waiting = true
			default:
				var n int
				err := s.DB().QueryRow(t.Context(), `SELECT count(*) FROM pg_locks WHERE NOT granted`).Scan(&n)
				if err != nil {
					t.Fatalf("pg_locks: %v", err)
				}
				waiting = n > 0
				time.Sleep(time.Millisecond)
			}
		}
		close(release)
		if page == nil {
			page = <-read
		}
	} else {
		close(release)
	}
	if err := <-heldDone; err != nil {
		t.Fatalf("held insert: %v", err)
	}
	if s.DB().Dialect() != sqlkit.Postgres {
		insert(t, s, []*event.Event{later}, nil)
	}
	var after int64
	for _, se := range page {
		after = se.Seq
	}
	rest, _ := readAfter(t, s, after, 10)
	all := append(page, rest...)
	if len(all) != 2 || all[0].Hash != held.Hash() || all[1].Hash != later.Hash() {
		var got []string
		for _, se := range all {
			got = append(got, fmt.Sprintf("%d:%s", se.Seq, se.Hash))
		}
		t.Errorf("follower read %v, want the held event then the later one", got)
	}
}
