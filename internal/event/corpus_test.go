package event_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/shadowserver"
)

// shadowserverEvents parses rows generated rows of every synthetic
// Shadowserver report, raw included, as the bench and the pipeline see
// them.
func shadowserverEvents(tb testing.TB, rows int) []*event.Event {
	return shadowserverReports(tb, rows, shadowserver.Reports()...)
}

// shadowserverReports is shadowserverEvents for the named reports.
func shadowserverReports(tb testing.TB, rows int, reports ...string) []*event.Event {
	tb.Helper()
	var all []*event.Event
	for i, report := range reports {
		opts := shadowserver.GenerateOptions{Start: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Step: time.Second}
		events, err := shadowserver.GenerateEvents(fmt.Sprintf("2026-11-20-%s-test-geo.csv", report), report, rows, rand.New(rand.NewPCG(uint64(i), 14)), opts)
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, events...)
	}
	return all
}
