package event_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/shadowserver"
)

// collector is a pipeline.Sink keeping the events it is given.
type collector struct{ events []*event.Event }

func (c *collector) Event(e *event.Event) error { c.events = append(c.events, e); return nil }
func (c *collector) Reject([]byte, error)       {}

// shadowserverEvents parses rows generated rows of every synthetic
// Shadowserver report, raw included, as the bench and the pipeline see
// them.
func shadowserverEvents(tb testing.TB, rows int) []*event.Event {
	return shadowserverReports(tb, rows, shadowserver.Reports()...)
}

// shadowserverReports is shadowserverEvents for the named reports.
func shadowserverReports(tb testing.TB, rows int, reports ...string) []*event.Event {
	tb.Helper()
	p, err := shadowserver.New(shadowserver.DefaultSchema(), "")
	if err != nil {
		tb.Fatal(err)
	}
	var all []*event.Event
	for i, report := range reports {
		var buf bytes.Buffer
		opts := shadowserver.GenerateOptions{Start: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Step: time.Second}
		if err := shadowserver.Generate(&buf, report, rows, rand.New(rand.NewPCG(uint64(i), 14)), opts); err != nil {
			tb.Fatal(err)
		}
		var c collector
		in := pipeline.Input{Name: fmt.Sprintf("2026-11-20-%s-test-geo.csv", report), Body: &buf}
		if err := p.Parse(context.Background(), in, &c); err != nil {
			tb.Fatalf("%s: %v", report, err)
		}
		all = append(all, c.events...)
	}
	return all
}
