package enricher

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// runGolden enriches the events of testdata/<name>.in.jsonl as one batch
// and compares the result with testdata/<name>.golden.jsonl.
func runGolden(t *testing.T, name string, en pipeline.Enricher) {
	t.Helper()
	b := &pipeline.Batch{Feed: "golden", Events: readEvents(t, filepath.Join("testdata", name+".in.jsonl"))}
	before := make([]*event.Event, len(b.Events))
	for i, e := range b.Events {
		before[i] = e.Clone()
	}
	if err := en.Enrich(context.Background(), b); err != nil {
		t.Fatalf("Enrich: %v", err)
	}
	checkMayAdd(t, en, before, b.Events)
	var got bytes.Buffer
	for _, e := range b.Events {
		got.Write(e.AppendJSON(nil))
		got.WriteByte('\n')
	}
	path := filepath.Join("testdata", name+".golden.jsonl")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	gotLines, wantLines := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gotLines), len(wantLines)); i++ {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Errorf("%s line %d:\n got %s\nwant %s", path, i+1, g, w)
		}
	}
}

// checkMayAdd checks that what en added to each event is among the keys
// its MayAdd (pipeline.FieldAdder) names for an event of the keys it had:
// a parser leaves room for those only.
func checkMayAdd(t *testing.T, en pipeline.Enricher, before, after []*event.Event) {
	t.Helper()
	adder, ok := en.(pipeline.FieldAdder)
	if !ok {
		t.Fatalf("%T does not say what it may add (pipeline.FieldAdder)", en)
	}
	for i, e := range after {
		may := adder.MayAdd(before[i].Has)
		for _, f := range e.Fields() {
			if !before[i].Has(f.Key) && !slices.Contains(may, f.Key) {
				t.Errorf("event %d: %T added %s, which its MayAdd does not name (%v)", i+1, en, f.Key, may)
			}
		}
	}
}

func readEvents(t testing.TB, path string) []*event.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []*event.Event
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		e := event.New(16)
		if err := e.ParseJSON(line); err != nil {
			t.Fatalf("%s line %d: %v", path, n, err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

// newEvent builds an event from field values, failing the test on a value
// that does not validate.
func newEvent(t testing.TB, fields map[string]string) *event.Event {
	t.Helper()
	e := event.New(len(fields) + 8)
	for _, k := range event.SortedKeys(fields) {
		if err := e.Set(k, fields[k]); err != nil {
			t.Fatalf("newEvent: %v", err)
		}
	}
	return e
}

func enrichOne(t testing.TB, en pipeline.Enricher, e *event.Event) {
	t.Helper()
	if err := en.Enrich(context.Background(), &pipeline.Batch{Events: []*event.Event{e}}); err != nil {
		t.Fatalf("Enrich: %v", err)
	}
}

// fieldsOf returns the event's fields with the given prefixes, for compact
// comparisons.
func fieldsOf(e *event.Event, prefixes ...string) map[string]string {
	m := map[string]string{}
	for _, f := range e.Fields() {
		for _, p := range prefixes {
			if strings.HasPrefix(f.Key, p) {
				m[f.Key] = f.Value
			}
		}
	}
	return m
}
