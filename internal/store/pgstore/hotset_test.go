package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestHotSetTable: the table finds every hash added under its id, a
// hash sharing another's first 8 bytes as a candidate of both (the
// lookup confirms it by the row), a hash added twice once; and its size
// at hotLimit hashes is hotMaxSlots, 251,658,240 bytes.
func TestHotSetTable(t *testing.T) {
	p := newPartitionHashes(2)
	hash := func(i int) []byte {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		return h[:]
	}
	const n = 100_000
	for i := range n {
		p.add(hash(i), partitionStart(2)+int64(i))
	}
	p.add(hash(7), partitionStart(2)+7)
	if p.n != n {
		t.Fatalf("%d entries after %d hashes and one again", p.n, n)
	}
	for i := range n {
		var offs []uint32
		p.find(hash(i), func(off uint32) { offs = append(offs, off) })
		if !slices.Contains(offs, uint32(i)) {
			t.Fatalf("hash %d: offsets %v, want %d among them", i, offs, i)
		}
	}
	lookalike := bytes.Clone(hash(5))
	lookalike[31] ^= 0xff
	p.add(lookalike, partitionStart(2)+n)
	var offs []uint32
	p.find(hash(5), func(off uint32) { offs = append(offs, off) })
	if slices.Sort(offs); !slices.Equal(offs, []uint32{5, n}) {
		t.Fatalf("a hash sharing its first 8 bytes with another: candidates %v, want [5 %d]", offs, n)
	}
	if got := partitionOffset(2, partitionStart(2)+math.MaxUint32); got != math.MaxUint32 {
		t.Fatalf("an offset past 32 bits is %d, want math.MaxUint32", got)
	}
	if got := hotSlots(hotLimit); got != hotMaxSlots {
		t.Fatalf("hotSlots(hotLimit) = %d, want %d", got, hotMaxSlots)
	}
	if got := (&partitionHashes{keys: make([]uint64, hotMaxSlots)}).bytes(); got != 251_658_240 {
		t.Fatalf("the table at hotLimit hashes takes %d bytes", got)
	}
}

// TestHotSetTwoStores: two stores (two processes) store batches that
// share events, one after the other and then at once: each reads under
// the lock what the other committed since it last looked, so every event
// is stored once.
func TestHotSetTwoStores(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	other := openSecond(t, s)
	events := copyCorpus(t, 400)
	today := time.Now().UTC()
	observedOn(events, today)
	for _, c := range []struct {
		st       *Store
		from, to int
		want     int
	}{
		{s, 0, 100, 100},
		{other, 50, 150, 50}, // other's set is read from the start
		{s, 100, 200, 50},    // s reads other's batch since its own
		{other, 0, 200, 0},   // other reads s's batch
		{s, 150, 250, 50},
		{other, 240, 260, 10}, // one since other last looked, s's
	} {
		if n, err := c.st.InsertEvents(ctx, events[c.from:c.to], nil); err != nil || n != c.want {
			t.Fatalf("InsertEvents of events %d to %d = %d, %v; want %d", c.from, c.to, n, err, c.want)
		}
	}
	// At once: each store's batches overlap the other's.
	done := make(chan int)
	for k, st := range []*Store{s, other, s, other} {
		go func() {
			total := 0
			for i := 260 + 10*k; i < 400; i += 20 {
				n, err := st.InsertEvents(ctx, events[i-10:min(i+30, 400)], nil)
				if err != nil {
					t.Error(err)
				}
				total += n
			}
			done <- total
		}()
	}
	total := 0
	for range 4 {
		total += <-done
	}
	if total != 140 {
		t.Errorf("the batches at once stored %d events between them, want 140", total)
	}
	if c, err := s.CountEvents(ctx); err != nil || c != 400 {
		t.Fatalf("CountEvents = %d, %v; want 400", c, err)
	}
}

// TestHotSetAfterRestart: a store opened on a hot partition another
// process filled (a restart) reads its hashes into its set at its first
// batch, and stores none of them again.
func TestHotSetAfterRestart(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	events := observedOn(copyCorpus(t, 200), time.Now().UTC())
	if n, err := s.InsertEvents(ctx, events[:150], nil); err != nil || n != 150 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	restarted := openSecond(t, s)
	s.Close()
	if n, err := restarted.InsertEvents(ctx, events[100:], nil); err != nil || n != 50 {
		t.Fatalf("InsertEvents of 50 stored and 50 new after the restart = %d, %v; want 50", n, err)
	}
	restarted.hotHashes.mu.Lock()
	got := restarted.hotHashes.cur.n
	restarted.hotHashes.mu.Unlock()
	if got != 200 {
		t.Fatalf("the restarted store's set holds %d hashes, want 200", got)
	}
	if c, err := restarted.CountEvents(ctx); err != nil || c != 200 {
		t.Fatalf("CountEvents = %d, %v; want 200", c, err)
	}
}

// TestMigrateHotNoHashIndex migrates a database of migration 16 whose
// partition 1 is sealed, 2 hot and 3 made ahead, each with the hash
// exclusion of migration 14: the hot and the made-ahead partitions lose
// it, the sealed one keeps it, and the events of every partition are
// stored once.
func TestMigrateHotNoHashIndex(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.migrateTo(ctx, 16); err != nil {
		t.Fatal(err)
	}
	events := observedOn(copyCorpus(t, 150), time.Now().UTC())
	if n, err := s.InsertEvents(ctx, events[:50], nil); err != nil || n != 50 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	// Today's sealing records the partition's empty columns (migration 19,
	// which adds the column if it is not there).
	if _, err := s.pool.Exec(ctx, `ALTER TABLE event_partitions ADD COLUMN empty text[]`); err != nil {
		t.Fatal(err)
	}
	if err := s.SealEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.prepareNext(ctx); err != nil { // partition 3, made ahead
		t.Fatal(err)
	}
	for _, n := range []string{"events_2", "events_3"} {
		if _, err := s.pool.Exec(ctx, `ALTER TABLE `+n+` ADD CONSTRAINT `+n+`_hash EXCLUDE USING hash (hash WITH =)`); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.InsertEvents(ctx, events[50:100], nil); err != nil || n != 50 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[string]bool{"events_1": true, "events_2": false, "events_3": false} {
		var has bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_indexes WHERE tablename = $1 AND schemaname = current_schema()
			AND indexname = $1 || '_hash')`, n).Scan(&has); err != nil {
			t.Fatal(err)
		}
		if has != want {
			t.Errorf("%s has an index on hash: %v, want %v", n, has, want)
		}
	}
	if n, err := s.InsertEvents(ctx, events, nil); err != nil || n != 50 {
		t.Fatalf("InsertEvents of 100 stored and 50 new = %d, %v", n, err)
	}
	if c, err := s.CountEvents(ctx); err != nil || c != 150 {
		t.Fatalf("CountEvents = %d, %v; want 150", c, err)
	}
}

// TestHotLookupByHash: GetEvent, GetOrganisationEvent's miss and EventIDs
// find an event of the hot partition (no index on hash) by the ids the
// hot set names, another process's stored since the set last read too,
// and those of a sealed partition by its index.
func TestHotLookupByHash(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	other := openSecond(t, s)
	events := observedOn(copyCorpus(t, 30), time.Now().UTC())
	if n, err := s.InsertEvents(ctx, events[:10], nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	if err := s.SealEvents(ctx); err != nil { // events[:10] in a sealed partition
		t.Fatal(err)
	}
	if n, err := s.InsertEvents(ctx, events[10:20], nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	if _, err := s.GetEvent(ctx, events[0].Hash()); err != nil { // s's set read now
		t.Fatal(err)
	}
	if n, err := other.InsertEvents(ctx, events[20:], nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	hashes := make([]event.Hash, len(events))
	for i, e := range events {
		hashes[i] = e.Hash()
		if got, err := s.GetEvent(ctx, hashes[i]); err != nil || got.Event.Hash() != hashes[i] {
			t.Fatalf("GetEvent of event %d: %v", i, err)
		}
		if _, err := s.GetOrganisationEvent(ctx, "nobody", hashes[i]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetOrganisationEvent of event %d for an organisation it is not of: %v", i, err)
		}
	}
	missing := copyCorpus(t, 31)[30].Hash()
	if _, err := s.GetEvent(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetEvent of a hash not stored: %v", err)
	}
	ids, err := s.EventIDs(ctx, append(hashes, missing))
	if err != nil || len(ids) != len(events) {
		t.Fatalf("EventIDs found %d of %d, %v", len(ids), len(events), err)
	}
	for i, h := range hashes {
		if want := partitionStart(1 + int64(min(i/10, 1))); ids[h]>>partitionBits != want>>partitionBits {
			t.Fatalf("event %d has id %d, want one of partition %d", i, ids[h], want>>partitionBits)
		}
	}
}

// TestHotSetCommitWindow: a batch gives hotLock back before its commit,
// so the next batch, of another store (process) or of the same, runs
// while the first is committing; sharing the first's events, it waits
// for that commit before it reads the rows it did not write (another
// store's) or confirms a match of its set (its own store's), and stores
// none of them again.
func TestHotSetCommitWindow(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	other := openSecond(t, s)
	events := copyCorpus(t, 40)
	observedOn(events, time.Now().UTC())
	for _, c := range []struct {
		name   string
		second *Store
		batch  []*event.Event
	}{
		{"another store", other, events[:20]},
		{"the same store", s, events[20:]},
	} {
		t.Run(c.name, func(t *testing.T) {
			var second struct {
				n   int
				err error
			}
			done := make(chan struct{})
			var first atomic.Bool
			s.beforeCommit = func() {
				if !first.CompareAndSwap(false, true) {
					return // the second batch's own commit
				}
				func() {
					go func() {
						defer close(done)
						second.n, second.err = c.second.InsertEvents(ctx, c.batch, nil)
					}()
					// Until the second batch has stored its events or
					// waits for a lock: the first's commit.
					for {
						select {
						case <-done:
							return
						case <-time.After(10 * time.Millisecond):
						}
						var waiting bool
						if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)`).Scan(&waiting); err != nil {
							t.Error(err)
							return
						}
						if waiting {
							return
						}
					}
				}()
			}
			defer func() { s.beforeCommit = nil }()
			if n, err := s.InsertEvents(ctx, c.batch, nil); err != nil || n != len(c.batch) {
				t.Fatalf("the first InsertEvents = %d, %v; want %d", n, err, len(c.batch))
			}
			<-done
			if second.err != nil || second.n != 0 {
				t.Fatalf("the batch stored during the first's commit: %d, %v; want 0 stored", second.n, second.err)
			}
		})
	}
	if c, err := s.CountEvents(ctx); err != nil || c != 40 {
		t.Fatalf("CountEvents = %d, %v; want 40", c, err)
	}
}

// TestBatchCountInItsCommit: a batch's count (store.EventBatch.Count) is
// written in the batch's transaction: another connection sees neither
// before the batch commits, both after, and a batch whose commit fails
// leaves no count behind.
func TestBatchCountInItsCommit(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key := store.FeedKey{Feed: "counted", Report: "scan"}
	out := func() int64 {
		t.Helper()
		rows, err := s.ListFeedStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Name == key.Feed && r.Report == key.Report {
				return r.EventsOut
			}
		}
		return -1
	}
	events := copyCorpus(t, 20)
	first, second := events[:10], events[10:]
	seen := int64(-2)
	s.beforeCommit = func() { seen = out() }
	n, err := s.InsertBatch(ctx, store.EventBatch{ID: store.BatchID(first), Events: first, Count: &store.BatchCount{Key: key}})
	s.beforeCommit = nil
	if err != nil || n != len(first) {
		t.Fatalf("InsertBatch = %d, %v; want %d", n, err, len(first))
	}
	if seen != -1 {
		t.Errorf("before the batch's commit the feed's row read %d events out; want no row", seen)
	}
	if got := out(); got != int64(n) {
		t.Errorf("after the batch's commit %d events out; want %d", got, n)
	}
	// The batch's context ends just before its commit: the commit fails,
	// and the count goes with the batch.
	failing, cancel := context.WithCancel(ctx)
	s.beforeCommit = cancel
	n, err = s.InsertBatch(failing, store.EventBatch{ID: store.BatchID(second), Events: second, Count: &store.BatchCount{Key: key}})
	s.beforeCommit = nil
	if err == nil {
		t.Fatalf("InsertBatch with its commit cut off = %d, nil; want an error", n)
	}
	if got := out(); got != int64(len(first)) {
		t.Errorf("after a failed commit %d events out; want the first batch's %d", got, len(first))
	}
	if c, err := s.CountEvents(ctx); err != nil || c != int64(len(first)) {
		t.Errorf("CountEvents = %d, %v; want %d", c, err, len(first))
	}
}
