package sqlitestore

import (
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dedupsql"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

func countParts(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.write.QueryRowContext(t.Context(), `SELECT count(*) FROM event_parts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPartsReplayOpensNoPartition replays a batch identity with events
// not stored (as after they were forgotten) when the next batch would
// open a partition: nothing is stored and no partition is opened.
func TestPartsReplayOpensNoPartition(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	g := storetest.NewGenerator(9)
	id := event.Hash{1, 2, 3}
	if n, err := s.InsertBatch(t.Context(), store.EventBatch{ID: id, Events: g.Batch(5)}); err != nil || n != 5 {
		t.Fatalf("InsertBatch = %d, %v", n, err)
	}
	if err := s.SealEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := countParts(t, s)
	if n, err := s.InsertBatch(t.Context(), store.EventBatch{ID: id, Events: g.Batch(5)}); err != nil || n != 0 {
		t.Fatalf("replayed InsertBatch = %d, %v", n, err)
	}
	if after := countParts(t, s); after != before {
		t.Errorf("a replayed batch opened partitions: %d, then %d", before, after)
	}
}

// TestPartsBatchAskedOnceInItsTransaction: a batch's identity is checked
// by its INSERT in the writer's transaction alone, not asked of a reader
// first (BatchRecorded's statement is never prepared), and a replay still
// stores nothing.
func TestPartsBatchAskedOnceInItsTransaction(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	g := storetest.NewGenerator(39)
	id := event.Hash{3, 9}
	events := g.Batch(5)
	for _, want := range []int{5, 0} {
		if n, err := s.InsertBatch(t.Context(), store.EventBatch{ID: id, Events: events}); err != nil || n != want {
			t.Fatalf("InsertBatch = %d, %v; want %d", n, err, want)
		}
		if _, ok := s.prepared.Load(dedupsql.BatchRecordedSQL); ok {
			t.Fatal("InsertBatch asked a reader whether its batch was recorded")
		}
	}
	if n, err := s.CountEvents(t.Context()); err != nil || n != 5 {
		t.Errorf("CountEvents = %d, %v; want 5", n, err)
	}
}
