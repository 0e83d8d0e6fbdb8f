package shadowserver

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// GenerateEvents is Generate's rows of report parsed with the default
// schema, as a file named fileName would be (the events carry the name
// in extra.file_name): the events a store or a benchmark meets. A row the
// parser refuses is an error; nothing is sealed.
func GenerateEvents(fileName, report string, rows int, rng *rand.Rand, opts GenerateOptions) ([]*event.Event, error) {
	var buf bytes.Buffer
	if err := Generate(&buf, report, rows, rng, opts); err != nil {
		return nil, err
	}
	p, err := New(DefaultSchema(), "")
	if err != nil {
		return nil, err
	}
	var c generated
	if err := p.Parse(context.Background(), pipeline.Input{Name: fileName, Body: &buf}, &c); err != nil {
		return nil, fmt.Errorf("shadowserver: parse generated %s: %w", fileName, err)
	}
	if c.err != nil {
		return nil, fmt.Errorf("shadowserver: parse generated %s: %w", fileName, c.err)
	}
	return c.events, nil
}

// generated is GenerateEvents' sink.
type generated struct {
	events []*event.Event
	err    error
}

func (g *generated) Event(e *event.Event) error {
	g.events = append(g.events, e)
	return nil
}

func (g *generated) Reject(line []byte, err error) {
	if g.err == nil {
		g.err = fmt.Errorf("row %q refused: %w", line, err)
	}
}
