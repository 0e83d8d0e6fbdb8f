package store

import (
	"testing"
	"time"
)

func TestSumFeeds(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	rows := []FeedStatus{
		{Name: "inbox", Report: "Sinkhole-HTTP", FeedCounters: FeedCounters{LinesRead: 4, EventsOut: 3, Warnings: 1},
			LastRun: t0, LastError: "line 3: bad", LastEvent: t0.Add(-2 * time.Hour)},
		{Name: "inbox", FeedCounters: FeedCounters{DeadLetters: 1}, LastRun: t0.Add(-time.Hour), LastError: "unknown report"},
		{Name: "feodo", FeedCounters: FeedCounters{LinesRead: 2}, LastRun: t0},
		{Name: "inbox", Report: "Accessible-RDP", FeedCounters: FeedCounters{LinesRead: 10, EventsOut: 9, DeadLetters: 1, Duplicates: 2},
			LastRun: t0.Add(time.Hour), LastEvent: t0.Add(-time.Hour)},
	}
	got := SumFeeds(rows)
	if len(got) != 2 || got[0].Name != "feodo" || got[1].Name != "inbox" {
		t.Fatalf("SumFeeds = %+v, want feodo then inbox", got)
	}
	if len(got[0].Reports) != 0 || got[0].LinesRead != 2 {
		t.Errorf("feodo = %+v, want its own row and no reports", got[0])
	}
	in := got[1]
	want := FeedCounters{LinesRead: 14, EventsOut: 12, DeadLetters: 2, Duplicates: 2, Warnings: 1}
	if in.FeedCounters != want {
		t.Errorf("inbox totals = %+v, want %+v", in.FeedCounters, want)
	}
	if !in.LastRun.Equal(t0.Add(time.Hour)) || in.LastError != "" || !in.LastEvent.Equal(t0.Add(-time.Hour)) {
		t.Errorf("inbox last run %v %q, last event %v: want the newest run (no error) and the newest event", in.LastRun, in.LastError, in.LastEvent)
	}
	if len(in.Reports) != 2 || in.Reports[0].Report != "Accessible-RDP" || in.Reports[1].Report != "Sinkhole-HTTP" {
		t.Fatalf("inbox reports = %+v, want Accessible-RDP then Sinkhole-HTTP", in.Reports)
	}
	if in.Reports[1].LastError != "line 3: bad" || in.Reports[1].Warnings != 1 {
		t.Errorf("Sinkhole-HTTP row = %+v, want its own error and warning", in.Reports[1])
	}
}
