package sqlitestore

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// coverage returns how many of a store's partitions are sealed and how
// many of those are covered.
func coverage(s *Store) (sealed, covered int) {
	s.parts.mu.RLock()
	defer s.parts.mu.RUnlock()
	for _, p := range s.parts.list {
		if p.sealed {
			sealed++
			if p.covered {
				covered++
			}
		}
	}
	return sealed, covered
}

// insertAll inserts events in batches of size and returns how many were
// stored.
func insertAll(t *testing.T, s *Store, events []*event.Event, size int) int {
	t.Helper()
	total := 0
	for i := 0; i < len(events); i += size {
		n, err := s.InsertEvents(t.Context(), events[i:min(i+size, len(events))], nil)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

// sealedStore makes a store of at least 40 sealed partitions of 20
// events, sealed as they fill, from 1,000 events.
func sealedStore(t *testing.T, path string) (*Store, []*event.Event) {
	t.Helper()
	s := openLayout(t, path, Options{EventLayout: LayoutParts, PartitionEvents: 20})
	all := sealedEvents()
	if n := insertAll(t, s, all, 20); n != len(all) {
		t.Fatalf("%d of %d events stored", n, len(all))
	}
	if sealed, _ := coverage(s); sealed < 40 {
		t.Fatalf("%d sealed partitions, want at least 40", sealed)
	}
	return s, all
}

// sealedFile writes at path the database of a sealedStore, closed, and
// returns its events, for the tests that open the store anew. The store
// is made once for the package and its file copied: making it is most of
// those tests' time, under -race most of all.
func sealedFile(t *testing.T, path string) []*event.Event {
	t.Helper()
	sealedTemplate.once.Do(func() {
		dir, err := os.MkdirTemp("", "sqlitestore-sealed-")
		if err != nil {
			t.Fatal(err)
		}
		sealedTemplate.dir = dir
		s, _ := sealedStore(t, filepath.Join(dir, "parts.db"))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		sealedTemplate.made = true
	})
	if !sealedTemplate.made {
		t.Fatal("the sealed store to copy was not made (see the first test that asked for it)")
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(filepath.Join(sealedTemplate.dir, "parts.db"+suffix))
		if errors.Is(err, fs.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return sealedEvents()
}

// sealedTemplate is sealedFile's store, in dir (removed by TestMain).
var sealedTemplate struct {
	once sync.Once
	dir  string
	made bool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sealedTemplate.dir != "" {
		os.RemoveAll(sealedTemplate.dir)
	}
	os.Exit(code)
}

// sealedEvents are a sealedStore's events.
func sealedEvents() []*event.Event { return storetest.NewGenerator(91).Batch(1000) }

// TestPartsHashSetExactlyOnce: on a store of many sealed partitions, each
// covered by the duplicate check's set as it is sealed, the events of
// every partition are refused when stored again, mixed with new ones,
// which are stored; each event once.
func TestPartsHashSetExactlyOnce(t *testing.T) {
	withSealInline(t)
	s, all := sealedStore(t, filepath.Join(t.TempDir(), "parts.db"))
	defer s.Close()
	if sealed, covered := coverage(s); covered != sealed {
		t.Fatalf("%d of %d sealed partitions covered, want all: the first lookup made the set before any sealing", covered, sealed)
	}
	more := storetest.NewGenerator(92).Batch(300)
	var mixed []*event.Event
	for i, e := range more {
		mixed = append(mixed, e, all[(i*7)%len(all)], all[len(all)-1-i])
	}
	if n := insertAll(t, s, mixed, 90); n != len(more) {
		t.Errorf("%d events stored, want the %d new ones", n, len(more))
	}
	if n := insertAll(t, s, all, 333); n != 0 {
		t.Errorf("%d events stored again, want 0", n)
	}
	checkOnce(t, "store", s, append(all, more...))
}

// TestPartsHashSetCoveredFiltersUnasked: a covered partition's own filter
// of hashes is not asked (the set's tags name the partition, whose runs
// answer), so that its pages never become resident: with every covered
// partition's filter replaced by one that admits nothing, each event
// stored again is still refused, and new ones are stored.
func TestPartsHashSetCoveredFiltersUnasked(t *testing.T) {
	withSealInline(t)
	s, all := sealedStore(t, filepath.Join(t.TempDir(), "parts.db"))
	defer s.Close()
	s.parts.mu.Lock()
	refusing := 0
	for _, p := range s.parts.list {
		if p.sealed && p.covered {
			p.sum.hashes = newHashBloom(1) // no bit set: admits nothing
			refusing++
		}
	}
	s.parts.mu.Unlock()
	if refusing < 40 {
		t.Fatalf("%d covered partitions, want at least 40", refusing)
	}
	if n := insertAll(t, s, all, 100); n != 0 {
		t.Errorf("%d events stored again, want 0", n)
	}
	more := storetest.NewGenerator(94).Batch(100)
	if n := insertAll(t, s, more, 100); n != len(more) {
		t.Errorf("%d of %d new events stored", n, len(more))
	}
	checkOnce(t, "store", s, append(all, more...))
}

// TestPartsHashSetReopen reopens a store of many sealed partitions: they
// are not covered, and the events of each are refused through its own
// filter; the covering loop, held until then, covers them all, and the
// answers are the same, duplicates refused and new events stored once.
func TestPartsHashSetReopen(t *testing.T) {
	withSealInline(t)
	path := filepath.Join(t.TempDir(), "parts.db")
	all := sealedFile(t, path)
	hold := make(chan struct{})
	s := openLayout(t, path, Options{EventLayout: LayoutParts, PartitionEvents: 20})
	defer s.Close()
	s.parts.coverHook = func(*partition) { <-hold }
	// Released before Close waits for the loop, should the test stop
	// before it releases the loop itself.
	release := sync.OnceFunc(func() { close(hold) })
	defer release()
	if s.parts.hashSet.Load() != nil {
		t.Fatal("the set is made at open; want it at the first writer's lookup")
	}
	hashes := make([]event.Hash, len(all))
	for i, e := range all {
		hashes[i] = e.Hash()
	}
	before, err := s.EventIDs(t.Context(), hashes)
	if err != nil || len(before) != len(all) {
		t.Fatalf("EventIDs: %d of %d found, %v", len(before), len(all), err)
	}
	if n := insertAll(t, s, all, 100); n != 0 {
		t.Errorf("%d events of uncovered partitions stored again, want 0", n)
	}
	if _, covered := coverage(s); covered != 0 {
		t.Fatalf("%d partitions covered while the loop is held", covered)
	}
	release()
	waitCovered(t, s)
	after, err := s.EventIDs(t.Context(), hashes)
	if err != nil || !maps.Equal(before, after) {
		t.Fatalf("EventIDs once covered: %d found (%v), before %d", len(after), err, len(before))
	}
	if n := insertAll(t, s, all, 100); n != 0 {
		t.Errorf("%d events of covered partitions stored again, want 0", n)
	}
	more := storetest.NewGenerator(93).Batch(100)
	if n := insertAll(t, s, append(more, all[:100]...), 50); n != len(more) {
		t.Errorf("%d events stored, want the %d new ones", n, len(more))
	}
	checkOnce(t, "reopened", s, append(all, more...))
}

// TestPartsHashSetCloseWhileCovering closes a store while its covering
// loop reads a partition: Close stops and waits for it, without error.
func TestPartsHashSetCloseWhileCovering(t *testing.T) {
	withSealInline(t)
	path := filepath.Join(t.TempDir(), "parts.db")
	all := sealedFile(t, path)
	covering := make(chan struct{})
	var once sync.Once
	s := openLayout(t, path, Options{EventLayout: LayoutParts, PartitionEvents: 20})
	reopened := s.parts
	reopened.coverHook = func(*partition) {
		once.Do(func() { close(covering) })
		<-reopened.coverCtx.Done() // the store closes meanwhile
	}
	if n := insertAll(t, s, all[:10], 10); n != 0 {
		t.Errorf("%d events stored again, want 0", n)
	}
	<-covering
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reopened.coverDone:
	default:
		t.Fatal("Close returned before the covering loop stopped")
	}
	if _, covered := coverage(s); covered != 0 {
		t.Errorf("%d partitions covered, want none: the loop was held until Close", covered)
	}
}

// TestPartsTwoStoresSameEvents: two stores on one database (two Opens, as
// two processes would) insert the same events at once, in batches of
// their own sizes, over partitions sealed in the background: each event
// is stored once, and counted as new by one of them.
func TestPartsTwoStoresSameEvents(t *testing.T) {
	a, b := openTwo(t, Options{EventLayout: LayoutParts, PartitionEvents: 100})
	insertAtOnce(t, []*Store{a, b, a, b}, storetest.NewGenerator(94).Batch(1500), 40, 23, 200)
}

// waitCovered waits until every sealed partition of s is covered.
func waitCovered(t *testing.T, s *Store) {
	t.Helper()
	sealed, covered := coverage(s)
	for deadline := time.Now().Add(time.Minute); covered < sealed; sealed, covered = coverage(s) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sealed partitions covered after a minute", covered, sealed)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPartsHashSetSealedElsewhere: the partitions another store seals are
// not covered by this one's set when it catches up; its covering loop,
// started by its first insert, covers them, and their events are refused
// before and after.
func TestPartsHashSetSealedElsewhere(t *testing.T) {
	withSealInline(t)
	a, b := openTwo(t, Options{EventLayout: LayoutParts, PartitionEvents: 20})
	first := storetest.NewGenerator(95).Batch(1)
	if n := insertAll(t, b, first, 1); n != 1 {
		t.Fatalf("b stored %d of 1", n)
	}
	all := storetest.NewGenerator(96).Batch(600)
	if n := insertAll(t, a, all, 20); n != len(all) {
		t.Fatalf("a stored %d of %d", n, len(all))
	}
	if n := insertAll(t, b, all, 100); n != 0 {
		t.Errorf("b stored %d of a's events again, want 0", n)
	}
	sealed, _ := coverage(b)
	if sealed < 25 {
		t.Fatalf("b sees %d sealed partitions, want at least 25", sealed)
	}
	waitCovered(t, b)
	if n := insertAll(t, b, all, 100); n != 0 {
		t.Errorf("b stored %d of a's events again once covered, want 0", n)
	}
	checkOnce(t, "b", b, append(first, all...))
}

// TestPartsHashSetFailedSeals fails the sealing of a partition three
// times, after its writes and before its commit, then seals it: the set
// holds its hashes once, counted once toward the layer's capacity, and
// the partition is covered, its events refused.
func TestPartsHashSetFailedSeals(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 20})
	defer s.Close()
	events := storetest.NewGenerator(98).Batch(10)
	if n := insertAll(t, s, events, 10); n != len(events) {
		t.Fatalf("%d of %d events stored", n, len(events))
	}
	ps := s.parts
	set := ps.hashSet.Load()
	if set == nil {
		t.Fatal("no set after the first insert")
	}
	ps.mu.Lock()
	p := ps.list[0]
	p.sealing = true
	ps.mu.Unlock()
	t.Cleanup(func() { sealHook = nil })
	for i := range 3 {
		ctx, cancel := context.WithCancel(t.Context())
		sealHook = cancel // the statements after it fail
		if err := ps.seal(ctx, p); err == nil {
			t.Fatalf("seal %d succeeded, want it failed", i)
		}
	}
	sealHook = nil
	if err := ps.seal(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if keys := set.Len(); keys != int64(len(events)) {
		t.Errorf("the set counts %d keys, want the partition's %d once", keys, len(events))
	}
	if sealed, covered := coverage(s); sealed != 1 || covered != 1 {
		t.Errorf("%d sealed partitions, %d covered; want 1 and 1", sealed, covered)
	}
	if n := insertAll(t, s, events, 10); n != 0 {
		t.Errorf("%d events stored again, want 0", n)
	}
}

// TestPartsHashSetReadAgain: the covering loop fails to read a
// partition's hashes (its table renamed away meanwhile, then back), covers
// the others, and reads it again, covering it: when woken by a partition
// another store sealed, or after its wait when nothing wakes it.
func TestPartsHashSetReadAgain(t *testing.T) {
	withSealInline(t)
	for _, woken := range []bool{true, false} {
		name := map[bool]string{true: "woken", false: "after a wait"}[woken]
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "parts.db")
			all := sealedFile(t, path)
			s := openLayout(t, path, Options{EventLayout: LayoutParts, PartitionEvents: 20})
			defer s.Close()
			var hidden string
			s.parts.coverHook = func(p *partition) {
				if hidden != "" {
					return
				}
				hidden = p.table
				if p.sealedAs >= rowsVersion {
					hidden += "_rows" // the chunks hold the hashes
				}
				if _, err := s.write.Exec(`ALTER TABLE ` + hidden + ` RENAME TO ` + hidden + `_hidden`); err != nil {
					t.Error(err)
				}
			}
			s.parts.coverRetry = time.Millisecond
			if woken {
				s.parts.coverRetry = time.Hour // only a wake reads it again
			}
			// The first lookup starts the loop; no other until the table
			// is back, as the lookups of an uncovered partition read it.
			if n := insertAll(t, s, all[:1], 1); n != 0 {
				t.Fatalf("%d events stored again, want 0", n)
			}
			sealed, covered := coverage(s)
			for deadline := time.Now().Add(time.Minute); covered < sealed-1; sealed, covered = coverage(s) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d sealed partitions covered after a minute, want all but one", covered, sealed)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if _, err := s.write.Exec(`ALTER TABLE ` + hidden + `_hidden RENAME TO ` + hidden); err != nil {
				t.Fatal(err)
			}
			if woken {
				other := openLayout(t, path, Options{EventLayout: LayoutParts, PartitionEvents: 20})
				defer other.Close()
				more := storetest.NewGenerator(99).Batch(20)
				if n := insertAll(t, other, more, 20); n != len(more) {
					t.Fatalf("the other store stored %d of %d", n, len(more))
				}
				if err := other.SealEvents(t.Context()); err != nil {
					t.Fatal(err)
				}
				all = append(all, more...)
				// Its next insert catches up and wakes the loop.
				if n := insertAll(t, s, all[:1], 1); n != 0 {
					t.Fatalf("%d events stored again, want 0", n)
				}
			}
			waitCovered(t, s)
			if n := insertAll(t, s, all, 100); n != 0 {
				t.Errorf("%d events stored again once covered, want 0", n)
			}
			checkOnce(t, "reopened", s, all)
		})
	}
}

// BenchmarkPartsDuplicates stores again, in batches of 500, events of a
// store of 40 partitions of 2,500 events sealed as they fill, all covered
// by the duplicate check's set: what real duplicates (a replayed feed)
// cost. An op is a batch of 500.
func BenchmarkPartsDuplicates(b *testing.B) {
	withSealInline(b)
	s := openLayout(b, filepath.Join(b.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 2500})
	defer s.Close()
	const batch = 500
	all := storetest.NewGenerator(93).Batch(100_000)
	for i := 0; i < len(all); i += batch {
		if _, err := s.InsertEvents(b.Context(), all[i:i+batch], nil); err != nil {
			b.Fatal(err)
		}
	}
	if sealed, covered := coverage(s); sealed < 39 || covered != sealed {
		b.Fatalf("%d sealed partitions, %d covered: want at least 39, all covered", sealed, covered)
	}
	i := 0
	for b.Loop() {
		at := (i * batch) % len(all)
		n, err := s.InsertEvents(b.Context(), all[at:at+batch], nil)
		if err != nil || n != 0 {
			b.Fatalf("%d events stored again (%v), want 0", n, err)
		}
		i++
	}
}
