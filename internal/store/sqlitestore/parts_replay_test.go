package sqlitestore

import (
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
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
