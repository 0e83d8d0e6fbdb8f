package parser

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// recorder is a pipeline.Sink that keeps what it is given.
type recorder struct {
	events  []*event.Event
	rejects []rejected
}

type rejected struct {
	input  []byte
	reason error
}

func (r *recorder) Event(e *event.Event) error {
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) Reject(input []byte, reason error) {
	r.rejects = append(r.rejects, rejected{input: input, reason: reason})
}

func testEnv() pipeline.Env {
	return pipeline.Env{Logger: slog.New(slog.DiscardHandler)}
}

func newParser(t testing.TB, id string, opts pipeline.Options) pipeline.Parser {
	t.Helper()
	p, err := pipeline.NewParser(id, testEnv(), opts)
	if err != nil {
		t.Fatalf("NewParser(%s): %v", id, err)
	}
	return p
}

func parse(t testing.TB, p pipeline.Parser, name string, input []byte) (*recorder, error) {
	t.Helper()
	rec := &recorder{}
	err := p.Parse(context.Background(), pipeline.Input{Feed: "test", Name: name, Body: bytes.NewReader(input)}, rec)
	return rec, err
}

// TestGolden runs every testdata/<parser>/<case>.input through the parser
// registered as <parser>, with <case>.options.json as options when present,
// and compares the events with <case>.golden.jsonl and the rejects (and an
// input error) with <case>.rejects.golden.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*/*.input")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		id := filepath.Base(filepath.Dir(in))
		name := filepath.Base(in)
		base := strings.TrimSuffix(in, ".input")
		t.Run(id+"/"+strings.TrimSuffix(name, ".input"), func(t *testing.T) {
			opts := pipeline.Options{}
			if b, err := os.ReadFile(base + ".options.json"); err == nil {
				if err := json.Unmarshal(b, &opts); err != nil {
					t.Fatalf("options: %v", err)
				}
			}
			input, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			rec, parseErr := parse(t, newParser(t, id, opts), name, input)

			var events, rejects bytes.Buffer
			for _, e := range rec.events {
				checkEvent(t, e)
				events.Write(e.AppendJSON(nil))
				events.WriteByte('\n')
			}
			for _, r := range rec.rejects {
				fmt.Fprintf(&rejects, "%q\n\t%v\n", r.input, r.reason)
				checkSaid(t, r.reason)
			}
			if parseErr != nil {
				fmt.Fprintf(&rejects, "input error: %v\n", parseErr)
			}
			compareGolden(t, base+".golden.jsonl", events.Bytes())
			compareGolden(t, base+".rejects.golden", rejects.Bytes())
		})
	}
}

// checkSaid checks that a reject's reason says itself as a message, the
// same sentence as its English, so that its dead letter is shown in the
// reader's language; and that the message is whole in every language.
func checkSaid(t *testing.T, reason error) {
	t.Helper()
	m, ok := i18n.Said(reason)
	if !ok {
		t.Errorf("reason %q has no message: its dead letter would be shown in English", reason)
		return
	}
	if m.String() != reason.Error() {
		t.Errorf("reason %q is said %q", reason, m.String())
	}
	for _, lang := range []string{"nl", "fr", "de"} {
		if said := m.In(i18n.Embedded(), lang); strings.Contains(said, "%!") || strings.Contains(said, "reason.") {
			t.Errorf("reason %q in %s: %q", reason, lang, said)
		}
	}
}

// checkEvent holds every parser to the package's rules, and checks that
// the event survives its own IntelMQ JSON form unchanged.
func checkEvent(t *testing.T, e *event.Event) {
	t.Helper()
	for _, key := range []string{"classification.type", "classification.taxonomy", "raw"} {
		if !e.Has(key) {
			t.Errorf("event without %s: %s", key, e.AppendJSON(nil))
		}
	}
	var back event.Event
	if err := back.ParseJSON(e.AppendJSON(nil)); err != nil {
		t.Errorf("event does not read back: %v: %s", err, e.AppendJSON(nil))
	} else if back.Hash() != e.Hash() {
		t.Errorf("event changes when read back:\n%s\n%s", e.AppendJSON(nil), back.AppendJSON(nil))
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		// Empty files are written too: "no rejects" is a result to review.
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gotLines := strings.Split(string(got), "\n")
	wantLines := strings.Split(string(want), "\n")
	for i := 0; i < max(len(gotLines), len(wantLines)); i++ {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Errorf("%s differs at line %d (run go test -update and review the diff):\n got: %s\nwant: %s", path, i+1, g, w)
			return
		}
	}
}

func TestEveryParserHasGoldenCases(t *testing.T) {
	for _, id := range []string{"csv", "intelmq", "urlhaus", "feodo", "spamhaus-drop", "phishtank", "openphish", "list", "cowrie"} {
		normal, _ := filepath.Glob("testdata/" + id + "/*.input")
		malformed, _ := filepath.Glob("testdata/" + id + "/malformed*.input")
		if len(normal)-len(malformed) < 1 || len(malformed) < 1 {
			t.Errorf("parser %s: want a normal and a malformed golden case, have %v", id, normal)
		}
	}
}
