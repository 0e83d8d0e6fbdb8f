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
	for _, e := range events {
		v, ok := e.Get("time.source")
		if !ok {
			continue
		}
		if canonicalTime(v) {
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

// canonicalTime reports whether v has the shape of event.FormatTime's
// output, "2006-01-02T15:04:05[.fraction]+00:00" with a four-digit year:
// fixed-width digits in the same zone, so text order is time order (a
// fraction's '.' sorts after the '+' of a value without one).
func canonicalTime(v string) bool {
	const zone = "+00:00"
	if len(v) < 19+len(zone) || v[len(v)-len(zone):] != zone {
		return false
	}
	for i := range 19 {
		c := v[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != 'T' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	rest := v[19 : len(v)-len(zone)]
	if rest == "" {
		return true
	}
	if rest[0] != '.' || len(rest) == 1 {
		return false
	}
	for i := 1; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}
