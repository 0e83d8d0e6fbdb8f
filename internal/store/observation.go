package store

import (
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// ObservationTime is when e was observed (time.observation, now without
// one), at most a day after now, in UTC: what both event stores close
// their partitions by, a batch of a later observation day than the hot
// partition's opening the next one. The cap keeps a feed's far-future
// times from opening a partition a batch. It is no bound on what a
// partition holds: a batch of an earlier day goes into the hot one.
func ObservationTime(e *event.Event, now time.Time) time.Time {
	t, ok := e.Time("time.observation")
	if !ok {
		t = now
	}
	if limit := now.Add(24 * time.Hour); t.After(limit) {
		t = limit
	}
	return t.UTC()
}
