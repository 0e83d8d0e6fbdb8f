package outbox

// An internal test: the rest are the package's own tests from outside
// (package outbox_test), so that they may use the outbox kept in a real
// database (internal/outbox/outboxdb, which imports this package).

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	s := &Sender{cfg: DefaultConfig()}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		32 * time.Minute, 64 * time.Minute, 128 * time.Minute, 256 * time.Minute, 6 * time.Hour, 6 * time.Hour}
	for i, w := range want {
		if got := s.backoff(i + 1); got != w {
			t.Errorf("backoff after %d attempts = %v, want %v", i+1, got, w)
		}
	}
}
