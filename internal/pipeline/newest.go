package pipeline

import (
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// newestSourceTime is the latest time.source of events, or the zero time.
// Parsing every event's time cost more than the rest of the batch's
// bookkeeping, so values in the form event.FormatTime writes, which sort
// as text in the order of their instants, are compared as text and only
// the latest is parsed. Any other value is parsed, as before.
func newestSourceTime(events []*event.Event) time.Time {
	var newest time.Time
	latest := ""
	near := 0 // where time.source was in the last event (event.GetNear)
	for _, e := range events {
		v, ok := e.GetNear("time.source", &near)
		if !ok {
			continue
		}
		if event.SortsAsTime(v) {
			latest = max(latest, v)
			continue
		}
		if t, err := event.ParseTime(v); err == nil && t.After(newest) {
			newest = t
		}
	}
	if latest == "" {
		return newest
	}
	t, err := event.ParseTime(latest)
	if err != nil {
		// The latest text is not a date-time after all (a month 13):
		// the next one might be, so every value is parsed.
		return newestSourceTimeParsed(events)
	}
	if t.After(newest) {
		newest = t
	}
	return newest
}

// newestSourceTimeParsed is newestSourceTime parsing every value.
func newestSourceTimeParsed(events []*event.Event) time.Time {
	var newest time.Time
	for _, e := range events {
		if t, ok := e.Time("time.source"); ok && t.After(newest) {
			newest = t
		}
	}
	return newest
}
