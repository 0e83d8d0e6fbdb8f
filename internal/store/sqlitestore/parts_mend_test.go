package sqlitestore

// Tests of the mends after the parts layout's review.

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsHugeEvents stores 120 events of 600 KB in one batch (as many
// as a block of 128 held whatever their size, 72 MB, beyond what a block
// of several events may decompress to) and one of 70 MB, larger than
// that bound, alone: every one is read back, by hash and by a search.
func TestPartsHugeEvents(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	g := storetest.NewGenerator(5)
	batch := g.Batch(121)
	for i, e := range batch[:120] {
		e.SetRawString(strings.Repeat(string(rune('a'+i%26)), 600_000))
	}
	batch[120].SetRawString(strings.Repeat("z", 70<<20))
	if n, err := s.InsertEvents(t.Context(), batch, nil); err != nil || n != len(batch) {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	for i, e := range batch {
		got, err := s.GetEvent(t.Context(), e.Hash())
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if got.Event.Hash() != e.Hash() {
			t.Fatalf("event %d came back different", i)
		}
	}
	var blocks, many int
	if err := s.write.QueryRowContext(t.Context(), `SELECT count(*), count(*) FILTER (WHERE n > 1) FROM ev_1_blocks`).Scan(&blocks, &many); err != nil {
		t.Fatal(err)
	}
	if blocks < 120*600_000/blockBytes {
		t.Errorf("%d blocks for 72 MB of events, want blocks of at most %d bytes", blocks, blockBytes)
	}
	page, err := s.SearchEvents(t.Context(), store.EventQuery{Limit: 200})
	if err != nil || len(page.Events) != len(batch) {
		t.Fatalf("search: %d events, %v", len(page.Events), err)
	}
}
