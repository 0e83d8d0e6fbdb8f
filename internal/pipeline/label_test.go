package pipeline

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// oldLabel is sink.label as it was before issue 14 (a Has and a set per
// field, the feed's URL and TLP normalized per event), kept to show that
// the new one labels every event the same.
func oldLabel(f *Feed, now string, e *event.Event) {
	if !e.Has("feed.name") {
		e.SetTrusted("feed.name", f.Name)
	}
	if f.Provider != "" && !e.Has("feed.provider") {
		e.SetTrusted("feed.provider", f.Provider)
	}
	if f.URL != "" && !e.Has("feed.url") {
		_ = e.Set("feed.url", f.URL)
	}
	if f.Code != "" && !e.Has("feed.code") {
		e.SetTrusted("feed.code", f.Code)
	}
	if f.Accuracy > 0 && !e.Has("feed.accuracy") {
		e.SetTrusted("feed.accuracy", strconv.FormatFloat(f.Accuracy, 'f', -1, 64))
	}
	if f.TLP != "" && !e.Has("tlp") {
		_ = e.Set("tlp", f.TLP)
	}
	if !e.Has("time.observation") {
		e.SetTrusted("time.observation", now)
	}
	if !f.KeepRaw {
		e.Delete("raw")
	}
}

func TestLabelMatchesTheOldLabel(t *testing.T) {
	feeds := []Feed{
		{Name: "shadowserver"},
		{Name: "full", Provider: "Shadowserver", URL: "HTTPS://Reports.Example/x", Code: "ss", TLP: "amber", Accuracy: 90.5, KeepRaw: true},
		{Name: "bad url and tlp", URL: "http://", TLP: "purple", Accuracy: 100},
		{Name: "", Provider: "p", TLP: "TLP:CLEAR", KeepRaw: true},
	}
	// Events that have none, some or all of the labels already.
	present := []event.Field{
		{Key: "feed.accuracy", Value: "50"}, {Key: "feed.code", Value: "given"}, {Key: "feed.name", Value: "given"},
		{Key: "feed.provider", Value: "given"}, {Key: "feed.url", Value: "http://given.example/"},
		{Key: "time.observation", Value: "2020-01-01T00:00:00+00:00"}, {Key: "tlp", Value: "RED"},
		{Key: "raw", Value: "bGluZQ=="}, {Key: "source.ip", Value: "192.0.2.1"}, {Key: "extra.z", Value: "1"},
		{Key: "a", Value: "first"}, {Key: "zz", Value: "last"},
	}
	rng := rand.New(rand.NewPCG(14, 1))
	now := event.FormatTime(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	for i := range 2000 {
		f := &feeds[i%len(feeds)]
		e := event.New(0)
		for _, p := range present {
			if rng.IntN(2) == 0 {
				e.SetTrusted(p.Key, p.Value)
			}
		}
		want := e.Clone()
		oldLabel(f, now, want)
		s := &sink{feed: f, now: now, labels: feedLabels(f, now)}
		got := e.Clone()
		s.label(got)
		if !slices.Equal(got.Fields(), want.Fields()) {
			t.Fatalf("case %d, feed %q: labelled\n %v\nthe old label\n %v", i, f.Name, got.Fields(), want.Fields())
		}
	}
}

func TestNewestSourceTimeMatchesParsingEach(t *testing.T) {
	values := []string{
		"2026-11-20T10:00:00+00:00", "2026-11-20T10:00:00.5+00:00", "2026-11-20T10:00:00.49+00:00",
		"2026-11-20T10:00:00.123456+00:00", "2026-11-20T09:59:59.999999+00:00", "2026-11-20T10:00:01+00:00",
		"2026-11-20T12:00:00+02:00", "2026-11-20 11:30:00", "1763640000", "2026-13-20T10:00:00+00:00",
		"2026-02-30T10:00:00+00:00", "1969-12-31T23:59:59+00:00", "9999-12-31T23:59:59+00:00",
		"2026-11-20T10:00:00.+00:00", "2026-11-20T10:00:00.5x+00:00", "not a time", "2026-11-20T10:00:00Z",
		"2027-01-01T00:00:60+00:00", "2026-11-20T24:00:00+00:00", "2026-11-20T10:00:00.0000000001+00:00",
	}
	rng := rand.New(rand.NewPCG(14, 2))
	for i := range 5000 {
		var events []*event.Event
		for range rng.IntN(8) {
			e := event.New(0)
			if rng.IntN(8) != 0 {
				v := values[rng.IntN(len(values))]
				if rng.IntN(3) == 0 {
					v = event.FormatTime(time.Unix(rng.Int64N(1<<34), rng.Int64N(1e9)*int64(rng.IntN(2))))
				}
				e.SetTrusted("time.source", v)
			}
			events = append(events, e)
		}
		got, want := newestSourceTime(events), newestSourceTimeParsed(events)
		if !got.Equal(want) || got.Location() != want.Location() {
			var vs []string
			for _, e := range events {
				vs = append(vs, e.Value("time.source"))
			}
			t.Fatalf("case %d %v: %v, parsing each %v", i, vs, got, want)
		}
	}
	if got := fmt.Sprint(newestSourceTime(nil)); got != fmt.Sprint(time.Time{}) {
		t.Errorf("no events: %s", got)
	}
}
