package api

import (
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

func TestFeeds(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := t.Context()
	run := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := f.store.AddFeedCounters(ctx, store.FeedKey{Feed: "scan-rdp"}, store.FeedCounters{LinesRead: 10, EventsOut: 8, DeadLetters: 2}, run, run.Add(-time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddFeedCounters(ctx, store.FeedKey{Feed: "phishtank"}, store.FeedCounters{LinesRead: 1}, run, time.Time{}, "HTTP 503"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddDeadLetters(ctx, []store.DeadLetter{{Feed: "scan-rdp", Parser: "p", Input: []byte("x"), Error: "e", Time: run}}); err != nil {
		t.Fatal(err)
	}
	// Two report types the inbox brought.
	if err := f.store.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox", Report: "Sinkhole-HTTP"}, store.FeedCounters{LinesRead: 4, EventsOut: 3, Warnings: 1}, run, run.Add(-2*time.Hour), "line 2: odd"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox", Report: "Accessible-RDP"}, store.FeedCounters{LinesRead: 6, EventsOut: 6, Warnings: 2}, run.Add(time.Minute), run.Add(-time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	r := f.get("/feeds", "ada")
	checkSchema(t, "FeedList", r.body)
	got := decode[struct {
		Feeds []feedJSON `json:"feeds"`
	}](t, r)
	byName := map[string]feedJSON{}
	for _, fd := range got.Feeds {
		byName[fd.Name] = fd
	}
	rdp := byName["scan-rdp"]
	if rdp.LinesRead != 10 || rdp.EventsOut != 8 || rdp.DeadLetters != 2 || rdp.PendingDeadLetters != 1 ||
		rdp.LastRun == nil || !rdp.LastRun.Equal(run) || rdp.LastEvent == nil {
		t.Errorf("scan-rdp %+v", rdp)
	}
	if pt := byName["phishtank"]; pt.LastError != "HTTP 503" || pt.LastEvent != nil || pt.Reports != nil {
		t.Errorf("phishtank %+v", pt)
	}
	in := byName["inbox"]
	if len(got.Feeds) != 3 || in.LinesRead != 10 || in.EventsOut != 9 || in.Warnings != 3 || in.LastError != "" ||
		in.LastRun == nil || !in.LastRun.Equal(run.Add(time.Minute)) || len(in.Reports) != 2 {
		t.Fatalf("inbox %+v, want the totals of its two reports, once", in)
	}
	if rep := in.Reports[1]; rep.Report != "Sinkhole-HTTP" || rep.LinesRead != 4 || rep.Warnings != 1 || rep.LastError != "line 2: odd" ||
		rep.LastEvent == nil || !rep.LastEvent.Equal(run.Add(-2*time.Hour)) {
		t.Errorf("inbox's Sinkhole-HTTP report %+v", rep)
	}
	if rep := in.Reports[0]; rep.Report != "Accessible-RDP" || rep.EventsOut != 6 {
		t.Errorf("inbox's Accessible-RDP report %+v", rep)
	}
}
