package pipeline_test

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

// reportParser reads lineParser's "ip port" lines after an optional first
// line "report NAME", which names the input's report type; an input called
// "report-NAME.csv" names it too, as Shadowserver's file names do. A line
// ending in " !" is read with a warning; a port of four digits is rejected
// while strict.
type reportParser struct{ lineParser }

func (p *reportParser) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	if name, ok := strings.CutPrefix(in.Name, "report-"); ok {
		pipeline.SetReport(sink, strings.TrimSuffix(name, ".csv"))
	}
	sc := bufio.NewScanner(in.Body)
	var body strings.Builder
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "report "); ok && n == 1 {
			pipeline.SetReport(sink, name)
			continue
		}
		if trimmed, ok := strings.CutSuffix(line, " !"); ok {
			pipeline.Warn(sink, fmt.Errorf("line %d: odd but readable", n))
			line = trimmed
		}
		body.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return p.lineParser.Parse(ctx, pipeline.Input{Feed: in.Feed, Name: in.Name, Body: strings.NewReader(body.String())}, sink)
}

// reportTimes sets time.source, so the feeds page's lag has something to
// show: port p is p minutes before the runner's now.
type reportTimes struct{}

func (reportTimes) Enrich(ctx context.Context, b *pipeline.Batch) error {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, e := range b.Events {
		if p, err := strconv.Atoi(e.Value("source.port")); err == nil {
			e.SetTime("time.source", now.Add(-time.Duration(p)*time.Minute))
		}
	}
	return nil
}

func feedRows(t *testing.T, st store.Store) map[string]store.FeedStatus {
	t.Helper()
	all, err := st.ListFeedStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]store.FeedStatus{}
	for _, s := range all {
		if s.Name != "test" {
			t.Errorf("row of feed %q", s.Name)
		}
		rows[s.Report] = s
	}
	return rows
}

func TestCountersPerReport(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	r := newReportRunner(t, st, &reportParser{})
	deliver := func(body string) {
		t.Helper()
		if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Name: "x.csv", Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	deliver("report Accessible-RDP\n192.0.2.1 30\n192.0.2.2 20 !\n192.0.2.3 10\nbroken\n")
	deliver("report Sinkhole-HTTP\n198.51.100.1 90 !\n198.51.100.2 80 !\n")
	deliver("192.0.2.9 5\nbroken\n")
	// The same Sinkhole-HTTP input again: duplicates on its row only.
	deliver("report Sinkhole-HTTP\n198.51.100.1 90 !\n198.51.100.2 80 !\n")

	rows := feedRows(t, st)
	if len(rows) != 3 {
		t.Fatalf("rows = %+v, want the feed's own, Accessible-RDP and Sinkhole-HTTP", rows)
	}
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for report, want := range map[string]struct {
		c    store.FeedCounters
		last time.Time
	}{
		"Accessible-RDP": {store.FeedCounters{LinesRead: 5, EventsOut: 3, DeadLetters: 1, Warnings: 1}, base.Add(-10 * time.Minute)},
		"Sinkhole-HTTP":  {store.FeedCounters{LinesRead: 6, EventsOut: 2, Duplicates: 2, Warnings: 4}, base.Add(-80 * time.Minute)},
		"":               {store.FeedCounters{LinesRead: 2, EventsOut: 1, DeadLetters: 1}, base.Add(-5 * time.Minute)},
	} {
		got := rows[report]
		if got.FeedCounters != want.c || !got.LastEvent.Equal(want.last) || got.LastRun.IsZero() {
			t.Errorf("row %q = %+v %v, want %+v %v", report, got.FeedCounters, got.LastEvent, want.c, want.last)
		}
	}
	page, err := st.SearchEvents(ctx, store.EventQuery{Feed: "test", Limit: 100})
	if err != nil || len(page.Events) != 6 {
		t.Fatalf("%d events stored (%v), want 6", len(page.Events), err)
	}
}

func TestRetryKeepsReport(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	p := &reportParser{}
	p.strict.Store(true)
	r := newReportRunner(t, st, p)
	for _, in := range []pipeline.Input{
		{Feed: "test", Name: "report-Accessible-RDP.csv", Body: strings.NewReader("192.0.2.1 1001\n192.0.2.2 22\n")},
		{Feed: "test", Name: "x.csv", Body: strings.NewReader("report Sinkhole-HTTP\n192.0.2.3 1002\n")},
	} {
		if err := r.Deliver(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	letters, _ := st.ListDeadLetters(ctx, store.DeadLetterQuery{Limit: 10})
	if len(letters) != 2 {
		t.Fatalf("%d letters, want 2", len(letters))
	}
	p.strict.Store(false)
	if n, err := r.RetryDeadLetters(ctx, []int64{letters[0].ID, letters[1].ID}); err != nil || n != 2 {
		t.Fatalf("retry: %d, %v; want 2", n, err)
	}
	rows := feedRows(t, st)
	// The retry knows the report from the letter's input name; the
	// letter of Sinkhole-HTTP holds its line without the report line, so
	// its event counts on the feed's own row.
	if got := rows["Accessible-RDP"]; got.DeadLetters != 1 || got.LinesRead != 2 || got.EventsOut != 2 {
		t.Errorf("Accessible-RDP row = %+v, want the retried event with the first", got.FeedCounters)
	}
	if got := rows["Sinkhole-HTTP"]; got.DeadLetters != 1 || got.LinesRead != 2 || got.EventsOut != 0 {
		t.Errorf("Sinkhole-HTTP row = %+v", got.FeedCounters)
	}
	if got := rows[""]; got.EventsOut != 1 || got.LinesRead != 0 {
		t.Errorf("own row = %+v, want the retried event of a letter without its report", got.FeedCounters)
	}
}

func TestDeadLetteredBatchCountsOnItsReport(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	r := newReportRunner(t, st, &reportParser{}, failingOutput{fmt.Errorf("webhook said 400: %w", pipeline.ErrPermanent)})
	if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Name: "x.csv", Body: strings.NewReader("report Sinkhole-HTTP\n192.0.2.1 22\n")}); err != nil {
		t.Fatal(err)
	}
	letters, _ := st.ListDeadLetters(ctx, store.DeadLetterQuery{Limit: 10})
	if len(letters) != 1 || letters[0].Parser != "output" {
		t.Fatalf("letters %+v", letters)
	}
	rows := feedRows(t, st)
	if got := rows["Sinkhole-HTTP"]; got.DeadLetters != 1 || got.LinesRead != 2 {
		t.Errorf("Sinkhole-HTTP row = %+v, want the batch's dead letter and the input's lines", got)
	}
	if _, ok := rows[""]; ok {
		t.Errorf("own row %+v, want none", rows[""])
	}
}

func newReportRunner(t *testing.T, st store.Store, p *reportParser, outputs ...pipeline.Output) *pipeline.Runner {
	t.Helper()
	outs := append([]pipeline.Output{storeOutput{st}}, outputs...)
	r := pipeline.NewRunner(pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: st, Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }},
		Transport: pipeline.NewLocal(2),
		Feeds:     []*pipeline.Feed{{Name: "test", ParserID: "reports", Parser: p}},
		Enrichers: []pipeline.Enricher{reportTimes{}},
		Outputs:   outs, BatchSize: 2, Workers: 2,
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go r.Work(ctx)
	return r
}
