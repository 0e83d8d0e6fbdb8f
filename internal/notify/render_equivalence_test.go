package notify

import (
	"math/rand/v2"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

func TestTimeBoundsMatchesParsing(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	values := []string{
		"2026-11-19T10:00:00+00:00", "2026-11-19T09:59:59+00:00", "2026-11-20T00:00:00+00:00", "1970-01-01T00:00:00+00:00",
		"1969-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "2026-02-30T10:00:00+00:00", "2026-13-01T10:00:00+00:00",
		"2026-11-19T10:00:00.5+00:00", "2026-11-19T10:00:00.25+00:00", "2026-11-19 10:00:00+00:00", "9999-12-31T23:59:59+00:00",
		"2026-11-19T24:00:00+00:00", "not a time", "",
	}
	for range 5000 {
		events := make([]store.StoredEvent, rng.IntN(12))
		for i := range events {
			e := event.New(2)
			if v := values[rng.IntN(len(values))]; v != "" {
				e.SetTrusted("time.source", v)
			}
			events[i] = store.StoredEvent{Event: e}
		}
		first, last := timeBounds(events)
		wantFirst, wantLast := timeBoundsParsed(events)
		if !first.Equal(wantFirst) || !last.Equal(wantLast) || first.Location() != wantFirst.Location() || last.Location() != wantLast.Location() {
			var got []string
			for _, e := range events {
				got = append(got, e.Event.Value("time.source"))
			}
			t.Fatalf("%q: got %v, %v; want %v, %v", got, first, last, wantFirst, wantLast)
		}
	}
}
