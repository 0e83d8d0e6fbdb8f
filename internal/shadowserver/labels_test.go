package shadowserver

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// preparingSink labels and seals each event as the runner's sink does
// (pipeline.Preparer), inserting the labels after the parser.
type preparingSink struct {
	collector
	labels []event.Field
}

func (s *preparingSink) Prepare(e *event.Event) {
	e.SetDefaults(s.labels...)
	e.Seal()
}

// labellingSink is preparingSink telling the parser its labels and
// event_hash (pipeline.Labeller), which the parser then writes.
type labellingSink struct {
	preparingSink
	withHash []event.Field
	// lacking counts the events Prepare was given without one of
	// withHash's keys (guarded by mu: Prepare runs on the workers).
	mu      sync.Mutex
	lacking int
}

func (s *labellingSink) Labels() []event.Field { return s.withHash }

func (s *labellingSink) Prepare(e *event.Event) {
	for _, f := range s.withHash {
		if !e.Has(f.Key) {
			s.mu.Lock()
			s.lacking++
			s.mu.Unlock()
			break
		}
	}
	e.SealWith(s.labels...)
}

// TestLabelsWrittenByTheParserEndTheSame parses every report of testdata,
// CSV and JSON, once with a sink that inserts its labels and event_hash
// after the parser and once with one whose labels the parser writes
// among the fields (pipeline.Labeller): the events' fields, records and
// hashes must be the same, and the parser must have left none of the
// labels to the sink. The label sets have keys the rows have
// (feed.provider, always; source.port and others, sometimes empty), keys
// before and after every key an event has, and no labels at all.
func TestLabelsWrittenByTheParserEndTheSame(t *testing.T) {
	labelSets := [][]event.Field{
		{{Key: "feed.name", Value: "bench"}, {Key: "time.observation", Value: "2026-11-20T10:00:00+00:00"}},
		{{Key: "feed.accuracy", Value: "90"}, {Key: "feed.code", Value: "ss"}, {Key: "feed.name", Value: "full"},
			{Key: "feed.provider", Value: "Not Shadowserver"}, {Key: "feed.url", Value: "https://reports.example/x"},
			{Key: "time.observation", Value: "2026-11-20T10:00:00+00:00"}, {Key: "tlp", Value: "AMBER"}},
		{{Key: "a", Value: "1"}, {Key: "destination.port", Value: "7"}, {Key: "protocol.transport", Value: "udp"},
			{Key: "source.port", Value: "9"}, {Key: "zzz", Value: "2"}},
		{},
	}
	files, err := filepath.Glob("testdata/*.csv")
	if err != nil {
		t.Fatal(err)
	}
	jsonFiles, _ := filepath.Glob("testdata/*.json")
	files = append(files, jsonFiles...)
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	for _, file := range files {
		for i, labels := range labelSets {
			at := slices.IndexFunc(labels, func(f event.Field) bool { return f.Key > "event_hash" })
			if at < 0 {
				at = len(labels)
			}
			withHash := slices.Insert(slices.Clone(labels), at, event.Field{Key: "event_hash"})
			plain := &preparingSink{labels: labels}
			labelled := &labellingSink{preparingSink: preparingSink{labels: labels}, withHash: withHash}
			for _, s := range []interface {
				pipeline.Sink
				pipeline.Preparer
			}{plain, labelled} {
				body, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				name := "2026-11-20-" + strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)) + "-test" + filepath.Ext(file)
				if err := p.Parse(context.Background(), pipeline.Input{Name: name, Body: bytes.NewReader(body)}, s); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
			}
			if labelled.lacking > 0 {
				t.Fatalf("%s, labels %d: the parser left %d events without a label or event_hash", file, i, labelled.lacking)
			}
			if len(plain.events) != len(labelled.events) {
				t.Fatalf("%s, labels %d: %d events, %d with the labels written by the parser", file, i, len(plain.events), len(labelled.events))
			}
			for j := range plain.events {
				a, b := plain.events[j], labelled.events[j]
				// What the runner's sink and Process do to an event the
				// parser did not prepare.
				for _, e := range []*event.Event{a, b} {
					if !e.Sealed() {
						e.SetDefaults(labels...)
					}
					e.Seal()
				}
				if !bytes.Equal(a.AppendJSON(nil), b.AppendJSON(nil)) ||
					!bytes.Equal(event.AppendRecord(nil, a), event.AppendRecord(nil, b)) || a.Hash() != b.Hash() {
					t.Fatalf("%s, labels %d, event %d: labels written by the parser\n %s\ninserted after it\n %s", file, i, j, b.AppendJSON(nil), a.AppendJSON(nil))
				}
				events++
			}
		}
	}
	if events == 0 {
		t.Fatal("no events")
	}
}
