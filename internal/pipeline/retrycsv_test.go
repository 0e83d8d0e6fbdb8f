package pipeline_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/parser"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestRetryCSVLetterUnderItsHeader: a row of a headed CSV file that the
// generic parser refused is kept under its header, so that the letter, once
// edited, is read again on its own even though the file's first lines (a
// title skipped by skip_lines) are not in it; the event's raw is the header
// and the edited row, and its hash does not depend on that raw.
func TestRetryCSVLetterUnderItsHeader(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	csv, err := parser.NewCSV(pipeline.Env{}, pipeline.Options{
		"skip_lines":      1,
		"columns":         map[string]any{"ip": "source.ip", "port": "source.port"},
		"constant_fields": map[string]any{"classification.type": "scanner"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, st, csv, true)
	const file = "Scan report of 2026-11-20\nip,port\n192.0.2.1,22\n192.0.2.5,99999\n"
	if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Name: "scan.csv", Body: strings.NewReader(file)}); err != nil {
		t.Fatal(err)
	}
	letters, err := st.ListDeadLetters(ctx, store.DeadLetterQuery{Limit: 10})
	if err != nil || len(letters) != 1 {
		t.Fatalf("letters %+v, %v; want the bad port's row", letters, err)
	}
	if got := string(letters[0].Input); got != "ip,port\n192.0.2.5,99999" {
		t.Fatalf("letter input %q, want the row under its header", got)
	}
	page, err := st.SearchEvents(ctx, store.EventQuery{IP: netip.MustParseAddr("192.0.2.1"), Limit: 10})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("event of the good row: %+v, %v", page.Events, err)
	}
	if got := string(page.Events[0].Event.Raw()); got != "ip,port\n192.0.2.1,22" {
		t.Errorf("raw %q, want the header, a newline and the row", got)
	}

	if err := st.EditDeadLetter(ctx, letters[0].ID, []byte("ip,port\n192.0.2.5,443")); err != nil {
		t.Fatal(err)
	}
	results, err := r.RetryDeadLettersReport(ctx, []int64{letters[0].ID})
	if err != nil || len(results) != 1 || !results[0].OK {
		t.Fatalf("re-run of the edited letter: %+v, %v", results, err)
	}
	page, err = st.SearchEvents(ctx, store.EventQuery{IP: netip.MustParseAddr("192.0.2.5"), Limit: 10})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("event of the edited row: %+v, %v", page.Events, err)
	}
	e := page.Events[0].Event
	if e.Value("source.port") != "443" || string(e.Raw()) != "ip,port\n192.0.2.5,443" {
		t.Errorf("event of the edited row: port %q, raw %q", e.Value("source.port"), e.Raw())
	}
	bare := e.Clone()
	bare.SetRaw([]byte("192.0.2.5,443"))
	bare.Delete("event_hash")
	if bare.Hash() != e.Hash() {
		t.Error("the event's hash depends on its raw")
	}
}
