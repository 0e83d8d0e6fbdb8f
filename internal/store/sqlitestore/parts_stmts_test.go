package sqlitestore

import (
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestSearchStatementsPrepared pages through sealed partitions by one
// event: the pages after the first ask the partitions the same
// statements, prepared once, and find the same events as one page.
func TestSearchStatementsPrepared(t *testing.T) {
	withSealInline(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 10})
	defer s.Close()
	storetest.Insert(t, s, storetest.NewGenerator(12).Batch(60)...)
	all, err := s.SearchEvents(t.Context(), store.EventQuery{Limit: 100})
	if err != nil || len(all.Events) != 60 {
		t.Fatalf("one page: %d events, %v", len(all.Events), err)
	}
	first := s.parts.searchStmts.prepares.Load()
	q := store.EventQuery{Limit: 1}
	for i := range 60 {
		page, err := s.SearchEvents(t.Context(), q)
		if err != nil || len(page.Events) != 1 || page.Events[0].Hash != all.Events[i].Hash {
			t.Fatalf("page %d: %d events, %v", i, len(page.Events), err)
		}
		q.After = page.Next
	}
	// A paged search has a cursor, the one page none: one more text a
	// partition.
	if n := s.parts.searchStmts.prepares.Load() - first; n > 6 {
		t.Errorf("%d statements prepared for 60 pages over 6 sealed partitions", n)
	}
}
