package sqlitestore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsFarFutureObservation stores an event observed in 2099: its
// partition's day is at most tomorrow's, so such times cannot open a
// partition a batch.
func TestPartsFarFutureObservation(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	e := storetest.Event(t, map[string]string{"time.observation": "2099-01-01T00:00:00+00:00", "source.ip": "192.0.2.9"})
	storetest.Insert(t, s, e)
	var day string
	if err := s.write.QueryRowContext(t.Context(), `SELECT max(day) FROM event_parts`).Scan(&day); err != nil {
		t.Fatal(err)
	}
	if limit := time.Now().Add(48 * time.Hour).UTC().Format("20060102"); day > limit {
		t.Errorf("partition day %s, want at most %s", day, limit)
	}
}
