package sqlitestore

import (
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsEventsAfterMissingRecord removes a sealed partition's block:
// EventsAfter reports it rather than skipping its events (which would
// move a follower past them).
func TestPartsEventsAfterMissingRecord(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	storetest.Insert(t, s, storetest.NewGenerator(10).Batch(10)...)
	if err := s.SealEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(t.Context(), `DELETE FROM ev_1_blocks`); err != nil {
		t.Fatal(err)
	}
	if got, err := s.EventsAfter(t.Context(), 0, 100); err == nil {
		t.Errorf("EventsAfter without the records = %d events, no error", len(got))
	}
}
