package sqlitestore

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsCountAfterReopen stores events in the parts layout (the
// default for a new database) as vigil bench notify loads its store:
// without fsyncs, closed as soon as the last batch is in (some partitions
// still waiting to be sealed), the file copied; the copy, opened again,
// counts every event at once, and again once everything is sealed.
func TestPartsCountAfterReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "loaded.db")
	s := openLayout(t, path, Options{Synchronous: "OFF", PartitionEvents: 300})
	if s.EventLayout() != LayoutParts {
		t.Fatalf("a new database has layout %q, want %q", s.EventLayout(), LayoutParts)
	}
	g := storetest.NewGenerator(27)
	want := int64(0)
	for range 10 {
		n, err := s.InsertEvents(ctx, g.Batch(250), nil)
		if err != nil {
			t.Fatal(err)
		}
		want += int64(n)
	}
	if n, err := s.CountEvents(ctx); err != nil || n != want {
		t.Fatalf("before closing: CountEvents = %d, %v; want %d", n, err, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Fatalf("closed, the database keeps a WAL (%v): a copy of the file alone lacks its events", err)
	}
	copied := filepath.Join(dir, "copy.db")
	copyFile(t, path, copied)
	// Opened without Migrate first, as vigil bench notify opens it before
	// database.New migrates.
	for i, p := range []string{copied, path} {
		r, err := Open(ctx, p, Options{PartitionEvents: 300})
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if err := r.Migrate(ctx); err != nil {
				r.Close()
				t.Fatal(err)
			}
		}
		if n, err := r.CountEvents(ctx); err != nil || n != want {
			r.Close()
			t.Fatalf("%s reopened: CountEvents = %d, %v; want %d", filepath.Base(p), n, err, want)
		}
		if i == 0 {
			// Migrated next, as database.New does: a store Open opened
			// seals nothing until then (parts.startSealing), and the
			// closed store may have left partitions waiting.
			if err := r.Migrate(ctx); err != nil {
				r.Close()
				t.Fatal(err)
			}
		}
		waitSealed(t, r)
		if n, err := r.CountEvents(ctx); err != nil || n != want {
			r.Close()
			t.Fatalf("%s reopened, sealed: CountEvents = %d, %v; want %d", filepath.Base(p), n, err, want)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// waitSealed waits until every partition of s but the last is sealed.
func waitSealed(t *testing.T, s *Store) {
	t.Helper()
	for {
		s.parts.mu.RLock()
		unsealed := 0
		for _, p := range s.parts.list[:max(0, len(s.parts.list)-1)] {
			if !p.sealed {
				unsealed++
			}
		}
		s.parts.mu.RUnlock()
		if unsealed == 0 {
			return
		}
		if err := t.Context().Err(); err != nil {
			t.Fatalf("%d partitions never sealed: %v", unsealed, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
