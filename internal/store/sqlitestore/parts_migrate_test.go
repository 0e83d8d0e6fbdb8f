package sqlitestore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// convertFixture is a rows store to convert and a copy of it kept in the
// rows layout, to compare with.
type convertFixture struct {
	rowsPath, partsPath string
	g                   *storetest.Generator
	sample              *event.Event
	ids                 map[event.Hash]int64 // every stored event's id
	tagged              int                  // events queued for org-a
}

// newConvertFixture fills a rows store with n batches of 250 events over
// several observation days (one event every two minutes), every seventh tagged for
// org-a (so in event_orgs and notify_queue), each batch stored at its
// own time, then deletes untagged events to leave gaps in the ids, and
// copies the file.
func newConvertFixture(t *testing.T, batches int) *convertFixture {
	t.Helper()
	dir := t.TempDir()
	f := &convertFixture{rowsPath: filepath.Join(dir, "rows.db"), partsPath: filepath.Join(dir, "parts.db"),
		g: storetest.NewGenerator(7), ids: map[event.Hash]int64{}}
	f.g.Step = 2 * time.Minute
	s := openLayout(t, f.rowsPath, Options{EventLayout: LayoutRows})
	n := 0
	for range batches {
		batch := f.g.Batch(250)
		for _, e := range batch {
			if n%7 == 0 {
				if err := e.Set(store.ConstituencyField, `["org-a"]`); err != nil {
					t.Fatal(err)
				}
			}
			n++
		}
		if _, err := s.InsertEvents(t.Context(), batch, nil); err != nil {
			t.Fatal(err)
		}
		if f.sample == nil {
			f.sample = batch[100]
		}
	}
	if _, err := s.write.Exec(`DELETE FROM events WHERE id % 11 = 0 AND id NOT IN (SELECT event_id FROM event_orgs)`); err != nil {
		t.Fatal(err)
	}
	rows, err := s.write.Query(`SELECT id, hash FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			id int64
			h  []byte
		)
		if err := rows.Scan(&id, &h); err != nil {
			t.Fatal(err)
		}
		f.ids[event.Hash(h)] = id
	}
	rows.Close()
	if err := s.write.QueryRow(`SELECT count(*) FROM notify_queue WHERE org = 'org-a'`).Scan(&f.tagged); err != nil || f.tagged == 0 {
		t.Fatalf("%d queued (%v)", f.tagged, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, f.rowsPath, f.partsPath)
	return f
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// convert runs the conversion on path with partitions of 400 events.
func convert(ctx context.Context, t *testing.T, path string, progress func(done, total int64)) (*Store, error) {
	t.Helper()
	s, err := Open(t.Context(), path, Options{PartitionEvents: 400})
	if err != nil {
		t.Fatal(err)
	}
	return s, s.MigrateEventsToParts(ctx, progress)
}

// TestMigrateEventsToParts converts a rows store in two runs, the first
// cancelled after a few steps: in between, a normal open refuses the
// database; at the end every event is in the parts layout once, with its
// id, its stored time and its content, searches answer as the rows
// store does, the queue still names the events, and new events get ids
// after the last one.
func TestMigrateEventsToParts(t *testing.T) {
	defer func(n int) { conversionChunk = n }(conversionChunk)
	conversionChunk = 97
	f := newConvertFixture(t, 6)

	// The first run stops after a few steps.
	ctx, cancel := context.WithCancel(t.Context())
	steps := 0
	s, err := convert(ctx, t, f.partsPath, func(done, total int64) {
		if steps++; steps == 6 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it cancelled", err)
	}
	s.Close()
	s = openLayoutErr(t, f.partsPath)
	if err := s.Migrate(t.Context()); !errors.Is(err, ErrConverting) || !strings.Contains(err.Error(), "vigil migrate-events") {
		t.Fatalf("open during the conversion: %v, want ErrConverting", err)
	}
	s.Close()

	var seen [][2]int64
	s, err = convert(t.Context(), t, f.partsPath, func(done, total int64) { seen = append(seen, [2]int64{done, total}) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	if len(seen) < 3 || seen[0][0] == 0 || seen[len(seen)-1] != [2]int64{int64(len(f.ids)), int64(len(f.ids))} {
		t.Fatalf("progress of the second run: %v, want it to start past 0 and end at %d", seen, len(f.ids))
	}
	if s.EventLayout() != LayoutParts {
		t.Fatalf("layout %q after the conversion", s.EventLayout())
	}
	checkConverted(t, f, s)

	rows := openLayout(t, f.rowsPath, Options{EventLayout: LayoutRows})
	defer rows.Close()
	// Every search page by page, its counts and groupings: seconds of
	// queries, which the race detector makes minutes while it has no
	// goroutines of the conversion to watch.
	if !raceDetector {
		compareLayouts(t, rows, s, f.g, f.sample)
	}
	compareQueues(t, rows, s)

	// New events come after the last id.
	last := slices.Max(slices.Collect(mapsValues(f.ids)))
	batch := f.g.Batch(5)
	if n, err := s.InsertEvents(t.Context(), batch, nil); err != nil || n != 5 {
		t.Fatalf("insert after the conversion: %d, %v", n, err)
	}
	ids, err := s.EventIDs(t.Context(), []event.Hash{batch[0].Hash()})
	if err != nil || ids[batch[0].Hash()] != last+1 {
		t.Fatalf("new event's id %d (%v), want %d", ids[batch[0].Hash()], err, last+1)
	}

	// Reopened as any store is, it is a parts store; converting it again
	// has nothing to do.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openLayout(t, f.partsPath, Options{})
	if s.EventLayout() != LayoutParts {
		t.Fatalf("reopened as %q", s.EventLayout())
	}
	compareQueues(t, rows, s)
	s.Close()
	s, err = convert(t.Context(), t, f.partsPath, nil)
	if !errors.Is(err, ErrAlreadyParts) {
		t.Fatalf("second conversion: %v, want ErrAlreadyParts", err)
	}
}

func mapsValues(m map[event.Hash]int64) func(func(int64) bool) {
	return func(yield func(int64) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// openLayoutErr opens path without migrating it.
func openLayoutErr(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkConverted checks that s holds every event of f once, with its id,
// and that the partitions span several days, sealed but the last.
func checkConverted(t *testing.T, f *convertFixture, s *Store) {
	t.Helper()
	var ids []int64
	days := map[string]bool{}
	for i, p := range s.parts.list {
		if p.sealed != (i < len(s.parts.list)-1) {
			t.Errorf("partition %d of %d: sealed %v", p.n, len(s.parts.list), p.sealed)
		}
		days[p.day] = true
		ids = append(ids, partitionIDs(t, s, p)...)
	}
	if len(days) < 2 {
		t.Errorf("partitions of %d days, want several", len(days))
	}
	slices.Sort(ids)
	if len(ids) != len(f.ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatalf("%d ids in the partitions (%d distinct), want %d", len(ids), len(slices.Compact(slices.Clone(ids))), len(f.ids))
	}
	byID, err := s.parts.eventsByID(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for h, id := range f.ids {
		se, ok := byID[id]
		if !ok || se.Hash != h {
			t.Fatalf("event %d: not found by id with its hash", id)
		}
		got, err := s.GetEvent(t.Context(), h)
		if err != nil || got.Hash != h || !got.Stored.Equal(se.Stored) {
			t.Fatalf("event %d by hash: %v", id, err)
		}
	}
	var tables int
	if err := s.read.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('events', 'event_conversion')`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("%d tables of the rows layout or the conversion left (%v)", tables, err)
	}
}

// compareQueues checks that org-a's queue reads the same events with the
// same ids, stored times and contents in both stores.
func compareQueues(t *testing.T, rows, parts *Store) {
	t.Helper()
	want, err1 := rows.ListPendingNotifications(t.Context(), "org-a", 0, 100000)
	got, err2 := parts.ListPendingNotifications(t.Context(), "org-a", 0, 100000)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("queue: %d entries on parts, %d on rows", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Seq != g.Seq || w.Hash != g.Hash || !w.Stored.Equal(g.Stored) || g.Event == nil ||
			string(event.AppendRecord(nil, g.Event)) != string(event.AppendRecord(nil, w.Event)) {
			t.Fatalf("queue entry %d: %d %s %s on parts, %d %s %s on rows", i, g.Seq, g.Hash, g.Stored, w.Seq, w.Hash, w.Stored)
		}
	}
}

// TestMigrateEventsKilled kills a conversion with SIGKILL in the middle
// of its steps, then finishes it: every event is in the parts layout
// once, with its id.
func TestMigrateEventsKilled(t *testing.T) {
	if path := os.Getenv("VIGIL_MIGRATE_CRASH_DB"); path != "" {
		migrateCrashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	f := newConvertFixture(t, 6)
	cmd := exec.Command(os.Args[0], "-test.run=^TestMigrateEventsKilled$")
	cmd.Env = append(os.Environ(), "VIGIL_MIGRATE_CRASH_DB="+f.partsPath)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := int64(0)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "done "); ok {
			done, _ = strconv.ParseInt(n, 10, 64)
		}
		if done >= 600 {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if done < 600 || done >= int64(len(f.ids)) {
		t.Fatalf("child copied %d of %d events before the kill", done, len(f.ids))
	}
	defer func(n int) { conversionChunk = n }(conversionChunk)
	conversionChunk = 97
	s, err := convert(t.Context(), t, f.partsPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkConverted(t, f, s)
}

// migrateCrashChild converts path in small steps, printing the progress
// and slowing down so that the parent's kill lands between and inside
// steps.
func migrateCrashChild(path string) {
	conversionChunk = 50
	s, err := Open(context.Background(), path, Options{PartitionEvents: 400})
	if err != nil {
		panic(err)
	}
	err = s.MigrateEventsToParts(context.Background(), func(done, total int64) {
		fmt.Printf("done %d\n", done)
		time.Sleep(time.Millisecond)
	})
	if err != nil {
		panic(err)
	}
	time.Sleep(time.Hour) // finished before the kill: the parent fails
}
