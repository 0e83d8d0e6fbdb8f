package sqlitestore

// Tests of several stores on one parts database (parts_shared.go).

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsSharedStores opens two stores on one parts database: each
// reads what the other wrote (by id, by hash, by search, counts and
// groupings, the dictionary), ids go on from the other's, an event the
// other stored is not stored again, and a partition one seals is sealed
// for the other.
func TestPartsSharedStores(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "parts.db")
	a := openLayout(t, path, Options{EventLayout: LayoutParts})
	defer a.Close()
	b := openLayout(t, path, Options{EventLayout: LayoutParts})
	defer b.Close()
	g := storetest.NewGenerator(21)

	first := g.Batch(10)
	storetest.Insert(t, a, first...)
	checkOnce(t, "b after a's batch", b, first)
	for i, e := range first {
		got, err := b.GetEvent(ctx, e.Hash())
		if err != nil || got.Event.Hash() != e.Hash() {
			t.Fatalf("b: GetEvent of a's event %d: %v", i, err)
		}
	}
	ids, err := b.EventIDs(ctx, []event.Hash{first[0].Hash(), first[9].Hash()})
	if err != nil || ids[first[0].Hash()] != 1 || ids[first[9].Hash()] != 10 {
		t.Fatalf("b: EventIDs = %v, %v; want ids 1 and 10", ids, err)
	}
	ip, _ := first[3].Get("source.ip")
	page, err := b.SearchEvents(ctx, store.EventQuery{IP: mustAddr(t, ip)})
	if err != nil || !holds(page.Events, first[3]) {
		t.Fatalf("b: search by a's event's address: %d events, %v", len(page.Events), err)
	}

	second := g.Batch(10)
	storetest.Insert(t, b, second...)
	checkOnce(t, "a after b's batch", a, append(first, second...))

	// The dictionary: a feed only a writes, then one only b writes.
	ea := storetest.Event(t, map[string]string{"time.source": "2026-11-02T10:00:00+00:00", "feed.name": "only-a", "classification.type": "phishing"})
	storetest.Insert(t, a, ea)
	page, err = b.SearchEvents(ctx, store.EventQuery{Feed: "only-a"})
	if err != nil || len(page.Events) != 1 || page.Events[0].Hash != ea.Hash() {
		t.Fatalf("b: search by a's new feed: %d events, %v", len(page.Events), err)
	}
	eb := storetest.Event(t, map[string]string{"time.source": "2026-11-02T11:00:00+00:00", "feed.name": "only-b", "classification.type": "phishing"})
	storetest.Insert(t, b, eb)
	groups, err := a.GroupEvents(ctx, store.EventQuery{Type: "phishing"}, store.GroupFeed, 10)
	if err != nil || len(groups) != 2 || groups[0].Count != 1 || groups[1].Count != 1 {
		t.Fatalf("a: feeds of phishing = %v, %v; want only-a and only-b once each", groups, err)
	}

	// The same events delivered to both: stored once.
	same := g.Batch(5)
	storetest.Insert(t, a, same...)
	if n, err := b.InsertEvents(ctx, same, nil); err != nil || n != 0 {
		t.Fatalf("b: InsertEvents of a's events = %d, %v; want 0", n, err)
	}
	all := append(append(append(first, second...), ea, eb), same...)
	checkOnce(t, "a", a, all)
	checkOnce(t, "b", b, all)

	// Sealed by a, sealed for b; b's next events open the next partition.
	if err := a.SealEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CountEvents(ctx); err != nil {
		t.Fatal(err)
	}
	partitions := func(s *Store) (n, sealed int) {
		s.parts.mu.RLock()
		defer s.parts.mu.RUnlock()
		for _, p := range s.parts.list {
			if p.sealed {
				sealed++
			}
		}
		return len(s.parts.list), sealed
	}
	before, _ := partitions(a)
	if n, sealed := partitions(b); n != before || sealed != before {
		t.Fatalf("b after a sealed: %d partitions, %d sealed; want %d sealed", n, sealed, before)
	}
	third := g.Batch(10)
	storetest.Insert(t, b, third...)
	all = append(all, third...)
	checkOnce(t, "a after b wrote past the seal", a, all)
	page, err = a.SearchEvents(ctx, store.EventQuery{Feed: "only-b"})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("a: search by b's feed in a sealed partition: %d events, %v", len(page.Events), err)
	}
	if n, sealed := partitions(a); n != before+1 || sealed != before {
		t.Fatalf("a knows %d partitions, %d sealed; want %d, %d", n, sealed, before+1, before)
	}
}

// openTwo opens two stores on one new database, as two processes would;
// both are closed when the test ends.
func openTwo(t *testing.T, opts Options) (a, b *Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parts.db")
	a = openLayout(t, path, opts)
	t.Cleanup(func() { a.Close() })
	b = openLayout(t, path, opts)
	t.Cleanup(func() { b.Close() })
	return a, b
}

// TestPartsSharedInterleaved inserts from two stores at once, batches
// that partly repeat each other's events, into partitions of 7 events
// sealed as they fill: ids are unique and increasing, and every event is
// stored exactly once, as both stores see.
func TestPartsSharedInterleaved(t *testing.T) {
	withSealInline(t)
	a, b := openTwo(t, Options{EventLayout: LayoutParts, PartitionEvents: 7})
	shared := storetest.NewGenerator(31).Batch(60)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all = append([]*event.Event(nil), shared...)
	)
	for i, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := storetest.NewGenerator(uint64(40 + i))
			for k := range 20 {
				batch := append(own.Batch(3), shared[3*k:3*k+3]...)
				mu.Lock()
				all = append(all, batch[:3]...)
				mu.Unlock()
				if _, err := s.InsertEvents(t.Context(), batch, nil); err != nil {
					t.Errorf("store %d batch %d: %v", i, k, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkOnce(t, "a", a, all)
	checkOnce(t, "b", b, all)
}

// TestPartsSharedProcesses runs a second process inserting into the
// database while this one does, both delivering some of the same events:
// every event is stored once, ids are unique and increasing, and each
// process's events are found by the other's searches.
func TestPartsSharedProcesses(t *testing.T) {
	if path := os.Getenv("VIGIL_PARTS_SHARED_DB"); path != "" {
		partsSharedChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	path := filepath.Join(t.TempDir(), "parts.db")
	opts := Options{EventLayout: LayoutParts, PartitionEvents: 500}
	s := openLayout(t, path, opts)
	defer s.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPartsSharedProcesses$")
	cmd.Env = append(os.Environ(), "VIGIL_PARTS_SHARED_DB="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child's first batch is in before this process writes, so that
	// both write while the other does.
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "first" {
	}
	own, shared := storetest.NewGenerator(51), storetest.NewGenerator(52)
	var all []*event.Event
	for range sharedBatches {
		batch := append(own.Batch(50), shared.Batch(50)...)
		all = append(all, batch...)
		if _, err := s.InsertEvents(t.Context(), batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	done := false
	for sc.Scan() {
		done = done || sc.Text() == "done"
	}
	if err := cmd.Wait(); err != nil || !done {
		t.Fatalf("child: %v, done %v", err, done)
	}
	all = append(all, storetest.NewGenerator(53).Batch(sharedBatches*50)...)
	checkOnce(t, "parent", s, all)
	mine, _ := all[0].Get("source.ip")
	page, err := s.SearchEvents(t.Context(), store.EventQuery{IP: mustAddr(t, mine), Limit: 1000})
	if err != nil || !holds(page.Events, all[0]) {
		t.Fatalf("search: %d events, %v", len(page.Events), err)
	}
	theirs := all[len(all)-1]
	ip, _ := theirs.Get("source.ip")
	page, err = s.SearchEvents(t.Context(), store.EventQuery{IP: mustAddr(t, ip), Limit: 1000})
	if err != nil || !holds(page.Events, theirs) {
		t.Fatalf("search for the child's event: %d events, %v", len(page.Events), err)
	}
}

// sharedBatches is how many batches each process of
// TestPartsSharedProcesses writes.
const sharedBatches = 20

// partsSharedChild writes batches of its own events and of the events
// the parent writes too.
func partsSharedChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path, Options{EventLayout: LayoutParts, PartitionEvents: 500})
	if err != nil {
		panic(err)
	}
	if err := s.Migrate(ctx); err != nil {
		panic(err)
	}
	own, shared := storetest.NewGenerator(53), storetest.NewGenerator(52)
	for i := range sharedBatches {
		batch := append(own.Batch(50), shared.Batch(50)...)
		if _, err := s.InsertEvents(ctx, batch, nil); err != nil {
			panic(err)
		}
		if i == 0 {
			fmt.Println("first")
		}
	}
	if err := s.Close(); err != nil {
		panic(err)
	}
	fmt.Println("done")
}

// TestPartsWithoutGeneration opens a parts database made before
// event_generation existed: the table is added, and the store reads and
// writes as before.
func TestPartsWithoutGeneration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parts.db")
	s := openLayout(t, path, Options{EventLayout: LayoutParts})
	g := storetest.NewGenerator(61)
	first := g.Batch(10)
	storetest.Insert(t, s, first...)
	if _, err := s.write.ExecContext(t.Context(), `DROP TABLE event_generation`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openLayout(t, path, Options{})
	defer s.Close()
	second := g.Batch(10)
	storetest.Insert(t, s, second...)
	checkOnce(t, "reopened", s, append(first, second...))
}

// checkOnce reads every event of s in id order: the ids are 1, 2, ...,
// and each event of want is there once, and nothing else.
func checkOnce(t *testing.T, who string, s *Store, want []*event.Event) {
	t.Helper()
	seen := map[event.Hash]int{}
	var after int64
	for {
		list, err := s.EventsAfter(t.Context(), after, 100)
		if err != nil {
			t.Fatalf("%s: EventsAfter(%d): %v", who, after, err)
		}
		if len(list) == 0 {
			break
		}
		for _, se := range list {
			if se.Seq != after+1 {
				t.Fatalf("%s: event after id %d has id %d", who, after, se.Seq)
			}
			after = se.Seq
			seen[se.Hash]++
		}
	}
	unique := map[event.Hash]bool{}
	for i, e := range want {
		unique[e.Hash()] = true
		if seen[e.Hash()] != 1 {
			t.Fatalf("%s: event %d stored %d times", who, i, seen[e.Hash()])
		}
	}
	if len(seen) != len(unique) {
		t.Fatalf("%s: %d events stored, %d delivered", who, len(seen), len(unique))
	}
	if n, err := s.CountEvents(t.Context()); err != nil || n != int64(len(unique)) {
		t.Fatalf("%s: CountEvents = %d, %v; want %d", who, n, err, len(unique))
	}
}

func holds(list []store.StoredEvent, e *event.Event) bool {
	for _, se := range list {
		if se.Hash == e.Hash() {
			return true
		}
	}
	return false
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPartsSharedRaceOnHashes has a store write a batch's events between
// the other's lookup of them and its transaction: the other looks them up
// again in its transaction and stores only the rest.
func TestPartsSharedRaceOnHashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parts.db")
	a := openLayout(t, path, Options{EventLayout: LayoutParts})
	defer a.Close()
	b := openLayout(t, path, Options{EventLayout: LayoutParts})
	defer b.Close()
	batch := storetest.NewGenerator(71).Batch(20)
	var done atomic.Bool
	beforeInsertTx = func() {
		// Run by b's insert; then by a's, within it, which does nothing.
		if done.CompareAndSwap(false, true) {
			storetest.Insert(t, a, batch[5:15]...)
		}
	}
	t.Cleanup(func() { beforeInsertTx = nil })
	n, err := b.InsertEvents(t.Context(), batch, nil)
	if err != nil || n != 10 {
		t.Fatalf("b: InsertEvents = %d, %v; want the 10 a did not store", n, err)
	}
	checkOnce(t, "a", a, batch)
	checkOnce(t, "b", b, batch)
}

// TestPartsSharedRecordsFresh asks a store for the records of events
// another store wrote after its last refresh, as a reader does that
// found their ids in the notification queue: it catches up and finds
// them.
func TestPartsSharedRecordsFresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parts.db")
	a := openLayout(t, path, Options{EventLayout: LayoutParts})
	defer a.Close()
	b := openLayout(t, path, Options{EventLayout: LayoutParts})
	defer b.Close()
	storetest.Insert(t, a, storetest.NewGenerator(81).Batch(10)...)
	recs, err := b.parts.recordsFresh(t.Context(), []int64{3, 10})
	if err != nil || len(recs) != 2 {
		t.Fatalf("b: records of a's events 3 and 10: %d found, %v", len(recs), err)
	}
}

// TestDefaultLayout opens databases with EventLayout "": a new one gets
// the parts layout, one holding events in the events table keeps the
// rows layout and says how to migrate, one empty of events made with rows
// asked for gets parts.
func TestDefaultLayout(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	fresh := openLayout(t, filepath.Join(dir, "new.db"), Options{})
	if got := fresh.EventLayout(); got != LayoutParts {
		t.Errorf("a new database: layout %q, want %q", got, LayoutParts)
	}
	fresh.Close()

	rows := openLayout(t, filepath.Join(dir, "rows.db"), Options{EventLayout: LayoutRows})
	batch := storetest.NewGenerator(91).Batch(3)
	storetest.Insert(t, rows, batch...)
	rows.Close()
	var logged strings.Builder
	s := openLayout(t, filepath.Join(dir, "rows.db"), Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	defer s.Close()
	if got := s.EventLayout(); got != LayoutRows {
		t.Errorf("a database with rows: layout %q, want %q", got, LayoutRows)
	}
	if !strings.Contains(logged.String(), "migrate-events") {
		t.Errorf("no hint of vigil migrate-events in the log: %q", logged.String())
	}
	checkOnce(t, "rows kept", s, batch)
	if _, err := s.SearchEvents(ctx, store.EventQuery{}); err != nil {
		t.Fatal(err)
	}

	empty := openLayout(t, filepath.Join(dir, "empty.db"), Options{EventLayout: LayoutRows})
	empty.Close()
	empty = openLayout(t, filepath.Join(dir, "empty.db"), Options{})
	defer empty.Close()
	if got := empty.EventLayout(); got != LayoutParts {
		t.Errorf("a database without events: layout %q, want %q", got, LayoutParts)
	}
}

// TestPartsSharedLeftPartitionSealed: a store that only writes (Open, no
// Migrate, so no sealing loop, as a short vigil ingest that exits before
// its seal ends) opens the next day's partition and closes; the store
// that stays (vigil serve) catches up and seals the partition left
// behind, instead of keeping it hot until a restart.
func TestPartsSharedLeftPartitionSealed(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "parts.db")
	a := openLayout(t, path, Options{EventLayout: LayoutParts})
	defer a.Close()
	b, err := Open(ctx, path, Options{EventLayout: LayoutParts})
	if err != nil {
		t.Fatal(err)
	}
	g := storetest.NewGenerator(23)
	day1, day2 := g.Batch(5), g.Batch(5)
	for _, e := range day1 {
		if err := e.Set("time.observation", "2026-01-01T10:00:00+00:00"); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range day2 {
		if err := e.Set("time.observation", "2026-01-02T10:00:00+00:00"); err != nil {
			t.Fatal(err)
		}
	}
	storetest.Insert(t, b, day1...)
	storetest.Insert(t, b, day2...)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, "a after b's two days", a, append(day1, day2...))
	for range 200 { // the loop seals it in the background
		a.parts.mu.RLock()
		sealed := len(a.parts.list) == 2 && a.parts.list[0].sealed
		a.parts.mu.RUnlock()
		if sealed {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the partition b left behind is not sealed by a after 10 s")
}

// TestPartsSharedRaceAcrossPartitions: while b looks up a batch, a stores
// part of it in a run that fills the partition b saw last and goes on
// into the next one, then seals them; b looks up again, in its
// transaction, from the next id it saw (lookedNext), and stores only
// what a did not. With b's last partition half full, lookedNext falls
// inside the partition the run starts in; with it full, on the first id
// of the partition the run starts in. Either way a lookup that starts one
// partition later misses the events of the run's first partition. When b
// stores the run itself (another of its writers), the partitions are
// covered by its duplicate check's set as they are sealed, and the
// second lookup asks them through the set.
func TestPartsSharedRaceAcrossPartitions(t *testing.T) {
	withSealInline(t)
	for _, tc := range []struct {
		name   string
		before int  // events a stores first, in batches of 20
		same   bool // b stores the run, not a
	}{
		{"inside a partition", 30, false},
		{"on a partition's first id", 40, false},
		{"inside a partition, by the same store", 30, true},
		{"on a partition's first id, by the same store", 40, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := openTwo(t, Options{EventLayout: LayoutParts, PartitionEvents: 20})
			g := storetest.NewGenerator(97)
			first, batch := g.Batch(tc.before), g.Batch(35)
			if n := insertAll(t, a, first, 20); n != len(first) {
				t.Fatalf("a stored %d of %d", n, len(first))
			}
			// a (or b) stores the batch's first 30 events, to the end of
			// the partition b saw last and then into a new one.
			run := batch[:30]
			runner := a
			if tc.same {
				runner = b
			}
			fill := 20 - tc.before%20
			var (
				done       atomic.Bool
				lookedNext int64
			)
			beforeInsertTx = func() {
				// Run by b's insert; then by a's, within it, which does nothing.
				if !done.CompareAndSwap(false, true) {
					return
				}
				b.parts.mu.RLock()
				lookedNext = b.parts.nextID
				b.parts.mu.RUnlock()
				if n := insertAll(t, runner, run[:fill], fill); n != fill {
					t.Errorf("the run: %d of %d stored", n, fill)
				}
				if n := insertAll(t, runner, run[fill:], len(run)-fill); n != len(run)-fill {
					t.Errorf("the run: %d of %d stored", n, len(run)-fill)
				}
				if err := runner.SealEvents(t.Context()); err != nil {
					t.Error(err)
				}
			}
			t.Cleanup(func() { beforeInsertTx = nil })
			n, err := b.InsertEvents(t.Context(), batch, nil)
			if err != nil || n != len(batch)-len(run) {
				t.Errorf("b: InsertEvents = %d, %v; want the %d a did not store", n, err, len(batch)-len(run))
			}
			// The premise: the run starts at lookedNext, in a partition
			// that starts before it or on it, and ends in the next one.
			b.parts.mu.RLock()
			var (
				starts    []int64
				uncovered int // of the partitions the run went into
			)
			for i, p := range b.parts.list {
				starts = append(starts, p.firstID)
				last := i+1 == len(b.parts.list) || b.parts.list[i+1].firstID > lookedNext
				if last && p.sealed && !p.covered {
					uncovered++
				}
			}
			b.parts.mu.RUnlock()
			want := []int64{1, 21, 41}
			if tc.before == 40 {
				want = append(want, 61)
			}
			if lookedNext != int64(tc.before)+1 || !slices.Equal(starts[:min(len(starts), len(want))], want) {
				t.Fatalf("lookedNext %d, partitions from ids %v; want %d and %v first", lookedNext, starts, tc.before+1, want)
			}
			if tc.same && uncovered > 0 {
				t.Fatalf("b: %d partitions of the run not covered, want none: b sealed them", uncovered)
			}
			checkOnce(t, "a", a, append(first, batch...))
			checkOnce(t, "b", b, append(first, batch...))
		})
	}
}

// formsCounter is a partsQueryer that counts the reads of sqlite_master
// (hotForms').
type formsCounter struct {
	q     partsQueryer
	reads int
}

func (c *formsCounter) count(query string) {
	if strings.Contains(query, "sqlite_master") {
		c.reads++
	}
}

func (c *formsCounter) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.count(query)
	return c.q.QueryContext(ctx, query, args...)
}

func (c *formsCounter) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	c.count(query)
	return c.q.QueryRowContext(ctx, query, args...)
}

// TestCatchUpReadsFormsOnce: a store catching up with another's batch in
// its last hot partition reads which forms of rows the partition has once,
// with its rows, not again for the next id.
func TestCatchUpReadsFormsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parts.db")
	a := openLayout(t, path, Options{EventLayout: LayoutParts})
	defer a.Close()
	b := openLayout(t, path, Options{EventLayout: LayoutParts})
	defer b.Close()
	g := storetest.NewGenerator(38)
	first := g.Batch(10)
	storetest.Insert(t, a, first...)
	checkOnce(t, "b after a's first batch", b, first)
	second := g.Batch(10)
	storetest.Insert(t, a, second...)

	q := &formsCounter{q: b.read}
	b.parts.refreshMu.Lock()
	_, err := b.parts.catchUp(t.Context(), q)
	b.parts.refreshMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if q.reads != 1 {
		t.Errorf("sqlite_master read %d times, want once", q.reads)
	}
	checkOnce(t, "b after a's second batch", b, append(first, second...))
}
