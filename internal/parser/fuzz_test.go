package parser

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// fuzzParser feeds the parser arbitrary input and checks the package's
// promise: no panic, and every non-blank line for which observation(line)
// is true becomes exactly one event or one reject, never both, never none.
func fuzzParser(f *testing.F, id string, opts pipeline.Options, observation func(line []byte) bool) {
	seeds, _ := filepath.Glob("testdata/" + id + "/*.input")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	p := newParser(f, id, opts)
	f.Fuzz(func(t *testing.T, input []byte) {
		rec, err := parse(t, p, id+".input", input)
		if err != nil {
			// Only csv (a bad header) and phishtank JSON (broken syntax)
			// may give up on a whole input; both are checked below.
			if id != "csv" && id != "phishtank" {
				t.Fatalf("input error: %v", err)
			}
			return
		}
		if id == "phishtank" && peekFirst(bufio.NewReader(bytes.NewReader(input))) == '[' {
			return // the JSON form has no lines; FuzzPhishTankJSON checks it
		}
		want := 0
		for i, line := range bytes.Split(input, []byte("\n")) {
			line = bytes.TrimSuffix(line, []byte("\r"))
			if i == 0 {
				line = bytes.TrimPrefix(line, utf8BOM)
			}
			if len(bytes.TrimSpace(line)) > 0 && observation(line) {
				want++
			}
		}
		got := len(rec.events) + len(rec.rejects)
		if got != want {
			t.Fatalf("%d events + %d rejects, want %d observation lines", len(rec.events), len(rec.rejects), want)
		}
		for _, e := range rec.events {
			checkStoredText(t, e)
			for _, key := range []string{"classification.type", "classification.taxonomy", "raw"} {
				if !e.Has(key) {
					t.Fatalf("event without %s: %s", key, e.AppendJSON(nil))
				}
			}
			// IntelMQ events bring their own raw; every other parser
			// keeps the line itself.
			if id != "intelmq" && !bytes.Contains(input, e.Raw()) {
				t.Fatalf("raw %q is not from the input", e.Raw())
			}
		}
		for _, r := range rec.rejects {
			if r.reason == nil || !strings.HasPrefix(r.reason.Error(), "line ") {
				t.Fatalf("reject reason %v does not name the line", r.reason)
			}
		}
	})
}

// checkStoredText holds an event to the promise every stored event keeps:
// names and values are valid UTF-8 without NUL characters or surrogates,
// and extra.* JSON carries no escaped NUL or lone surrogate. It decodes the
// JSON with encoding/json's token reader rather than the event package's
// checks, so it does not share their mistakes.
func checkStoredText(t *testing.T, e *event.Event) {
	t.Helper()
	for _, f := range e.Fields() {
		for _, s := range []string{f.Key, f.Value} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("field %q holds invalid text: %q", f.Key, s)
			}
		}
		if !event.IsExtra(f.Key) {
			continue
		}
		if strings.Contains(strings.ToLower(f.Value), `\u0000`) {
			t.Fatalf("field %s holds an escaped NUL: %s", f.Key, f.Value)
		}
		// A lone surrogate escape decodes to U+FFFD; a value whose text
		// has no U+FFFD must not decode to one.
		if strings.ContainsRune(f.Value, utf8.RuneError) || strings.Contains(strings.ToLower(f.Value), `\ufffd`) {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(f.Value), &v); err != nil {
			t.Fatalf("field %s is not JSON: %v", f.Key, err)
		}
		if b, _ := json.Marshal(v); bytes.ContainsRune(b, utf8.RuneError) || bytes.Contains(b, []byte(`\ufffd`)) {
			t.Fatalf("field %s holds a lone surrogate: %s", f.Key, f.Value)
		}
	}
}

func notComment(prefix string) func([]byte) bool {
	return func(line []byte) bool { return !isComment(line, prefix) }
}

// csvHeader reports whether line is a CSV row whose first cell is name.
func csvHeader(line []byte, name string) bool {
	row, err := splitCSV(nil, string(line), ',')
	return err == nil && row[0] == name
}

func FuzzCSV(f *testing.F) {
	fuzzParser(f, "csv", pipeline.Options{
		"has_header":      false,
		"comment":         "#",
		"columns":         map[string]any{"0": "source.ip", "1": "time.source", "2": "extra.note"},
		"constant_fields": map[string]any{"classification.type": "scanner"},
	}, notComment("#"))
}

func FuzzIntelMQ(f *testing.F) {
	fuzzParser(f, "intelmq", nil, func([]byte) bool { return true })
}

func FuzzURLhaus(f *testing.F) {
	fuzzParser(f, "urlhaus", nil, notComment("#"))
}

func FuzzFeodo(f *testing.F) {
	fuzzParser(f, "feodo", nil, func(line []byte) bool {
		return !isComment(line, "#") && !csvHeader(line, "first_seen_utc")
	})
}

func FuzzSpamhausDROP(f *testing.F) {
	fuzzParser(f, "spamhaus-drop", nil, func(line []byte) bool {
		t := bytes.TrimSpace(line)
		if t[0] == ';' {
			return false
		}
		var m map[string]any
		if t[0] == '{' && json.Unmarshal(t, &m) == nil && m["type"] == "metadata" {
			return false
		}
		return true
	})
}

func FuzzPhishTank(f *testing.F) {
	f.Add([]byte(`[{"url": "http://a.example.com/"}, 5, {"url": null}]`))
	f.Add([]byte("[\n"))
	fuzzParser(f, "phishtank", nil, func(line []byte) bool { return !csvHeader(line, "phish_id") })
}

// FuzzPhishTankJSON checks the JSON form: an array that decodes whole gives
// one event or reject per entry.
func FuzzPhishTankJSON(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/phishtank/*json*.input")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	p := newParser(f, "phishtank", nil)
	f.Fuzz(func(t *testing.T, input []byte) {
		if peekFirst(bufio.NewReader(bytes.NewReader(input))) != '[' {
			return
		}
		rec, err := parse(t, p, "phishtank.json", input)
		var entries []json.RawMessage
		if json.Unmarshal(input, &entries) != nil {
			return // broken syntax may end the input with an error
		}
		if err != nil {
			t.Fatalf("valid JSON array refused: %v", err)
		}
		if got := len(rec.events) + len(rec.rejects); got != len(entries) {
			t.Fatalf("%d events + %d rejects for %d entries", len(rec.events), len(rec.rejects), len(entries))
		}
	})
}

func FuzzOpenPhish(f *testing.F) {
	fuzzParser(f, "openphish", nil, notComment("#"))
}

func FuzzList(f *testing.F) {
	fuzzParser(f, "list", pipeline.Options{"type": "blacklist"}, func(line []byte) bool {
		t := bytes.TrimSpace(line)
		return t[0] != '#' && t[0] != ';'
	})
}

func FuzzCowrie(f *testing.F) {
	fuzzParser(f, "cowrie", nil, func(line []byte) bool {
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			return true
		}
		id, ok := m["eventid"].(string)
		if !ok || id == "" {
			return true
		}
		_, handled := cowrieClassification[id]
		return handled
	})
}
