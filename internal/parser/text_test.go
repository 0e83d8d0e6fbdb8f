package parser

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

// countingRecorder is a recorder that also counts replaced bytes, as the
// runner's sink does with its Prometheus counter.
type countingRecorder struct {
	recorder
	replaced int
}

func (c *countingRecorder) InvalidUTF8Replaced(n int) { c.replaced += n }

func TestInvalidUTF8ReplaceIsCountedAndLogged(t *testing.T) {
	input := []byte("192.0.2.1,caf\xe9\n192.0.2.2,clean\n192.0.2.3,\xff\xfe\n")
	opts := pipeline.Options{
		"has_header":      false,
		"columns":         map[string]any{"0": "source.ip", "1": "extra.note"},
		"constant_fields": map[string]any{"classification.type": "scanner"},
	}
	parseWith := func(t *testing.T, opts pipeline.Options) (*countingRecorder, string) {
		t.Helper()
		var log bytes.Buffer
		p, err := pipeline.NewParser("csv", pipeline.Env{Logger: slog.New(slog.NewTextHandler(&log, nil))}, opts)
		if err != nil {
			t.Fatal(err)
		}
		rec := &countingRecorder{}
		in := pipeline.Input{Feed: "latin", Name: "notes.csv", Body: bytes.NewReader(input)}
		if err := p.Parse(t.Context(), in, rec); err != nil {
			t.Fatal(err)
		}
		return rec, log.String()
	}

	t.Run("rejected by default", func(t *testing.T) {
		rec, log := parseWith(t, opts)
		if len(rec.events) != 1 || len(rec.rejects) != 2 || rec.replaced != 0 || log != "" {
			t.Fatalf("%d events, %d rejects, %d replaced, log %q; want the clean line only", len(rec.events), len(rec.rejects), rec.replaced, log)
		}
		if got := rec.rejects[0].reason.Error(); got != `line 1: column 1: field extra.note: invalid UTF-8 (byte 0xE9) at byte offset 3 (value "caf\xe9")` {
			t.Errorf("reason %q", got)
		}
	})

	t.Run("replaced, counted and logged under invalid_utf8: replace", func(t *testing.T) {
		replace := pipeline.Options{"invalid_utf8": "replace"}
		for k, v := range opts {
			replace[k] = v
		}
		rec, log := parseWith(t, replace)
		if len(rec.events) != 3 || len(rec.rejects) != 0 {
			t.Fatalf("%d events, %d rejects; want 3 events", len(rec.events), len(rec.rejects))
		}
		if got := rec.events[0].Value("extra.note"); got != `"caf`+"\uFFFD"+`"` {
			t.Errorf("extra.note = %s", got)
		}
		if got := string(rec.events[0].Raw()); got != "192.0.2.1,caf\xe9" {
			t.Errorf("raw = %q, want the line as it came", got)
		}
		if rec.replaced != 3 {
			t.Errorf("%d bytes counted, want 3", rec.replaced)
		}
		if strings.Count(log, "\n") != 1 || !strings.Contains(log, "invalid UTF-8") || !strings.Contains(log, "feed=latin") ||
			!strings.Contains(log, "input=notes.csv") || !strings.Contains(log, "lines=2") || !strings.Contains(log, "bytes=3") {
			t.Errorf("want one log line for the input naming feed, input, lines and bytes; got %q", log)
		}
	})

	t.Run("NUL still refused under replace", func(t *testing.T) {
		replace := pipeline.Options{"invalid_utf8": "replace"}
		for k, v := range opts {
			replace[k] = v
		}
		p, err := pipeline.NewParser("csv", testEnv(), replace)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := parse(t, p, "nul.csv", []byte("192.0.2.1,a\x00b\n"))
		if err != nil || len(rec.events) != 0 || len(rec.rejects) != 1 || !strings.Contains(rec.rejects[0].reason.Error(), "NUL character at byte offset 1") {
			t.Fatalf("events %d, rejects %v, err %v; want the line refused for its NUL", len(rec.events), rec.rejects, err)
		}
	})
}
