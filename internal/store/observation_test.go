package store

import (
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// TestObservationTime: an event's observation in UTC, now without one,
// and never more than a day after now.
func TestObservationTime(t *testing.T) {
	now := time.Date(2026, 12, 6, 23, 30, 0, 0, time.UTC)
	at := func(v string) *event.Event {
		e := event.New(1)
		if v != "" {
			if err := e.Set("time.observation", v); err != nil {
				t.Fatal(err)
			}
		}
		return e
	}
	for _, c := range []struct {
		value string
		want  time.Time
	}{
		{"", now},
		{"2026-12-01T10:00:00+00:00", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		{"2026-12-07T01:00:00+02:00", time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)},
		{"2027-06-01T00:00:00+00:00", now.Add(24 * time.Hour)},
	} {
		got := ObservationTime(at(c.value), now)
		if !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("ObservationTime(%q) = %v, want %v in UTC", c.value, got, c.want)
		}
	}
}
