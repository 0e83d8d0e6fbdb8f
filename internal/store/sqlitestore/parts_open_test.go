package sqlitestore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsQueuedAtOpenAreSealing reopens a store whose first partition
// was left unsealed (a sealing a crash undid): while the loop seals it,
// it is marked sealing, as every partition queued for sealing is.
func TestPartsQueuedAtOpenAreSealing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parts.db")
	s := openLayout(t, path, Options{EventLayout: LayoutParts})
	g := storetest.NewGenerator(11)
	// Written and sealed as 6, which keeps the compact rows: the test
	// makes it look unsealed again, as a sealing a crash rolled back
	// leaves it.
	s.parts.writeVersion = 6
	storetest.Insert(t, s, g.Batch(10)...)
	if err := s.SealEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	storetest.Insert(t, s, g.Batch(10)...)
	if _, err := s.write.ExecContext(t.Context(), `UPDATE event_parts SET summary = NULL WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	sealHook = func() { <-release }
	t.Cleanup(func() { sealHook = nil })
	s = openLayout(t, path, Options{EventLayout: LayoutParts})
	s.parts.mu.RLock()
	p := s.parts.list[0]
	sealed, sealing := p.sealed, p.sealing
	s.parts.mu.RUnlock()
	close(release)
	if err := s.Close(); err != nil && !errors.Is(err, context.Canceled) {
		t.Log(err)
	}
	if sealed || !sealing {
		t.Errorf("partition queued at open: sealed %v, sealing %v; want sealing", sealed, sealing)
	}
}
