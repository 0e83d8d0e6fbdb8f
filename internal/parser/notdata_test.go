package parser

import (
	"bytes"
	"context"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// lineSink counts events, rejects and the lines said to carry no data.
type lineSink struct{ events, rejects, notData int }

func (s *lineSink) Event(*event.Event) error { s.events++; return nil }
func (s *lineSink) Reject([]byte, error)     { s.rejects++ }
func (s *lineSink) NotData(lines int)        { s.notData += lines }

// TestCSVNamesItsNonDataLines: the header, the skipped lines and the
// comments of a CSV input are said to carry no data, so that the feeds
// page counts the data lines only.
func TestCSVNamesItsNonDataLines(t *testing.T) {
	p := newParser(t, "csv", pipeline.Options{
		"columns":         map[string]any{"ip": "source.ip"},
		"skip_lines":      1,
		"comment":         "#",
		"constant_fields": map[string]any{"classification.type": "scanner"},
	})
	input := "report of today\nip,port\n# a comment\n192.0.2.1,80\n192.0.2.2,81\nnot an address,82\n"
	var s lineSink
	if err := p.Parse(context.Background(), pipeline.Input{Feed: "test", Name: "x.csv", Body: bytes.NewReader([]byte(input))}, &s); err != nil {
		t.Fatal(err)
	}
	if s.notData != 3 || s.events != 2 || s.rejects != 1 {
		t.Errorf("not data %d, events %d, rejects %d; want 3 (a skipped line, the header, a comment), 2, 1", s.notData, s.events, s.rejects)
	}
}
