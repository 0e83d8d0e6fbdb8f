package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// TestPreparedEventEndsAsUnprepared shows that an event a parser's worker
// prepared (labelled and sealed) ends as one that was not: after the
// sink's Event (label) and the runner's Seal, its fields, JSON, record and
// identity are the same, for feeds with and without raw and labels. The
// workers prepare at once, as a parser's do (run with -race).
func TestPreparedEventEndsAsUnprepared(t *testing.T) {
	feeds := []*Feed{
		{Name: "all", Provider: "Shadowserver", URL: "https://example.org/", Code: "scan_rdp", TLP: "amber", Accuracy: 90, KeepRaw: true},
		{Name: "bare"},
		{Name: "no raw", TLP: "red"},
	}
	for _, f := range feeds {
		s := &sink{feed: f, now: "2026-11-20T10:00:00+00:00", labels: feedLabels(f, "2026-11-20T10:00:00+00:00")}
		var plain, prepared []*event.Event
		for i := range 64 {
			e := event.New(8 + event.PipelineRoom)
			e.SetTrusted("classification.type", "vulnerable-system")
			e.SetTrusted("source.ip", fmt.Sprintf("192.0.2.%d", i))
			if i%3 == 0 {
				e.SetTrusted("feed.name", "the parser's own")
			}
			if i%4 == 0 {
				e.SetTrusted("event_hash", "00")
			}
			e.SetRaw([]byte(fmt.Sprintf("row %d", i)))
			plain = append(plain, e)
			prepared = append(prepared, e.Clone())
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := w; i < len(prepared); i += 4 {
					s.Prepare(prepared[i])
				}
			})
		}
		wg.Wait()
		for i := range plain {
			// What Event and Process do to each.
			for _, e := range []*event.Event{plain[i], prepared[i]} {
				if !e.Sealed() {
					s.label(e)
				}
				e.Seal()
			}
			a, b := plain[i], prepared[i]
			if !bytes.Equal(a.AppendJSON(nil), b.AppendJSON(nil)) ||
				!bytes.Equal(event.AppendRecord(nil, a), event.AppendRecord(nil, b)) || a.Hash() != b.Hash() {
				t.Fatalf("feed %q, event %d: prepared\n %s\nunprepared\n %s", f.Name, i, b.AppendJSON(nil), a.AppendJSON(nil))
			}
		}
	}
}

// adder is an enricher that may add to an event having if the fields of adds.
type adder struct {
	having string
	adds   []string
}

func (adder) Enrich(context.Context, *Batch) error { return nil }

func (a adder) MayAdd(has func(key string) bool) []string {
	if a.having != "" && !has(a.having) {
		return nil
	}
	return a.adds
}

// silent is an enricher that does not say what it adds.
type silent struct{}

func (silent) Enrich(context.Context, *Batch) error { return nil }

// TestRoomIsWhatTheEnrichersMayAdd checks the room a sink asks a parser to
// leave: its feed's labels and event_hash, and what the runner's
// enrichers say they may add to an event of the parser's keys, in their
// order (one's additions count as had for those after it), each key once
// and none the event or the labels have; enricherRoom for an enricher that
// does not say.
func TestRoomIsWhatTheEnrichersMayAdd(t *testing.T) {
	now := event.FormatTime(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	url := adder{having: "source.url", adds: []string{"source.fqdn", "source.ip", "source.port"}}
	asn := adder{having: "source.ip", adds: []string{"source.as_name", "source.asn", "source.network"}}
	tag := adder{adds: []string{"extra.constituency", "feed.provider", "event_hash"}}
	for _, tc := range []struct {
		name      string
		feed      Feed
		labels    int
		enrichers []Enricher
		keys      []string
		want      int
	}{
		{"no enrichers", Feed{Name: "shadowserver"}, 2, nil, []string{"source.ip"}, 0},
		{"one that does not say", Feed{Name: "shadowserver"}, 2, []Enricher{silent{}}, nil, enricherRoom},
		{"an AS number given", Feed{Name: "s"}, 2, []Enricher{asn}, []string{"source.asn", "source.ip"}, 2},
		{"no address", Feed{Name: "s"}, 2, []Enricher{asn}, []string{"source.asn"}, 0},
		{"one's additions had by the next", Feed{Name: "s"}, 2, []Enricher{url, asn}, []string{"source.url"}, 6},
		{"in the other order", Feed{Name: "s"}, 2, []Enricher{asn, url}, []string{"source.url"}, 3},
		{"each key once", Feed{Name: "s"}, 2, []Enricher{asn, asn}, []string{"source.ip"}, 3},
		{"labels and event_hash had", Feed{Name: "full", Provider: "Shadowserver", URL: "https://reports.example/x", Code: "ss", TLP: "amber", Accuracy: 90.5},
			7, []Enricher{tag, silent{}}, nil, 1 + enricherRoom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{r: &Runner{enrichers: tc.enrichers}, feed: &tc.feed, now: now, labels: feedLabels(&tc.feed, now)}
			if len(s.labels) != tc.labels {
				t.Fatalf("%d labels, want %d", len(s.labels), tc.labels)
			}
			if got, want := s.Room(tc.keys), tc.labels+1+tc.want; got != want {
				t.Errorf("room %d, want %d", got, want)
			}
		})
	}
}

// TestLabelsHoldTheHashInKeyOrder checks what the runner's sink tells a
// parser that writes its labels (Labeller): the feed's labels and an
// event_hash, in strictly increasing key order, for feeds with few and
// with every label.
func TestLabelsHoldTheHashInKeyOrder(t *testing.T) {
	now := event.FormatTime(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	for _, f := range []*Feed{
		{Name: "bare"},
		{Name: "full", Provider: "Shadowserver", URL: "https://reports.example/x", Code: "ss", TLP: "amber", Accuracy: 90.5},
	} {
		labels := feedLabels(f, now)
		s := &sink{feed: f, now: now, labels: labels, withHash: withHash(labels)}
		got := s.Labels()
		if len(got) != len(labels)+1 {
			t.Fatalf("feed %q: %d labels, want %d and event_hash", f.Name, len(got), len(labels))
		}
		hashes := 0
		for i, l := range got {
			if i > 0 && got[i-1].Key >= l.Key {
				t.Fatalf("feed %q: labels out of order: %v", f.Name, got)
			}
			if l.Key == "event_hash" {
				hashes++
			}
		}
		if hashes != 1 {
			t.Fatalf("feed %q: %d event_hash among %v", f.Name, hashes, got)
		}
	}
}
