package sqlitestore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// TestBackgroundCheckpoint writes while the checkpointer runs, then checks
// that Close folds the WAL into the database and nothing is lost.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	st, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const batches, size = 20, 500
	for b := range batches {
		events := make([]*event.Event, 0, size)
		for i := range size {
			e := event.New(4)
			e.SetTrusted("source.ip", "192.0.2.1")
			e.SetInt("source.port", int64(b*size+i))
			events = append(events, e)
		}
		if _, err := st.InsertEvents(ctx, events, nil); err != nil {
			t.Fatal(err)
		}
		if b == batches/2 {
			time.Sleep(2 * checkpointInterval) // let a background checkpoint run mid-way
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("WAL holds %d bytes after Close, want it folded into the database", fi.Size())
	}
	st, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil { // finds the layout
		t.Fatal(err)
	}
	if n, err := st.CountEvents(ctx); err != nil || n != batches*size {
		t.Fatalf("CountEvents = %d, %v; want %d", n, err, batches*size)
	}
}

// TestWALStaysBounded writes without pause, as a long ingestion does, and
// expects the writer to hold the WAL near its limit.
func TestWALStaysBounded(t *testing.T) {
	st, path := openWithWALLimit(t, 1<<20)
	ctx := context.Background()
	var largest int64
	deadline := time.Now().Add(3 * time.Second)
	for b := 0; time.Now().Before(deadline); b++ {
		events := make([]*event.Event, 0, 200)
		for i := range 200 {
			e := event.New(4)
			e.SetTrusted("source.ip", "192.0.2.1")
			e.SetInt("source.port", int64(b*200+i))
			e.SetExtra("padding", strings.Repeat("x", 512))
			events = append(events, e)
		}
		if _, err := st.InsertEvents(ctx, events, nil); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > largest {
			largest = fi.Size()
		}
	}
	// Twice the limit plus one commit of 200 events (some 150 KiB with
	// their index pages), whatever the background checkpointer's pace:
	// the writer checks the WAL's size after each commit.
	if limit := 2*walLimitBytes + 2<<20; largest > limit {
		t.Fatalf("WAL grew to %d bytes under a limit of %d bytes (at most %d)", largest, walLimitBytes, limit)
	}
	t.Logf("largest WAL: %d bytes", largest)
}

// TestDeferCheckpoints defers the checkpoints, as the notifier's pass
// over a morning's queue does: the checkpointer leaves the WAL alone
// until it outgrows the deferred limit, and takes it up again once every
// deferral is resumed.
func TestDeferCheckpoints(t *testing.T) {
	st, _ := openWithWALLimit(t, 256<<10)
	ctx := context.Background()
	// write stores events until the WAL file holds more than size bytes.
	batch := 0
	write := func(size int64) {
		t.Helper()
		for st.walFileSize() <= size {
			events := make([]*event.Event, 0, 200)
			for i := range 200 {
				e := event.New(4)
				e.SetTrusted("source.ip", "192.0.2.1")
				e.SetInt("source.port", int64(batch*200+i))
				e.SetTrusted("comment", strings.Repeat("x", 200))
				events = append(events, e)
			}
			if _, err := st.InsertEvents(ctx, events, nil); err != nil {
				t.Fatal(err)
			}
			batch++
		}
	}
	first := st.DeferCheckpoints()
	second := st.DeferCheckpoints()
	write(2 * walLimitBytes)
	if st.checkpointPassive(ctx) {
		t.Errorf("a checkpoint ran while deferred, with %d bytes of WAL under the deferred limit of %d", st.walFileSize(), deferredWALFactor*walLimitBytes)
	}
	first()
	first() // resumes once
	if st.checkpointPassive(ctx) {
		t.Error("a checkpoint ran with one deferral left")
	}
	second()
	if !st.checkpointPassive(ctx) {
		t.Error("no checkpoint once every deferral was resumed")
	}
	defer st.DeferCheckpoints()()
	write(deferredWALFactor * walLimitBytes)
	if !st.checkpointPassive(ctx) {
		t.Errorf("no checkpoint while deferred with %d bytes of WAL, past the deferred limit", st.walFileSize())
	}
}

// openWithWALLimit opens a migrated store in a new file, without fsync,
// under a WAL limit of size bytes (set back when the test ends), and
// returns it with its path.
func openWithWALLimit(t *testing.T, size int64) (*Store, string) {
	t.Helper()
	old := walLimitBytes
	walLimitBytes = size
	t.Cleanup(func() { walLimitBytes = old })
	path := filepath.Join(t.TempDir(), "vigil.db")
	st, err := Open(context.Background(), path, Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, path
}
