package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// TestWriteFeedsReports checks that `vigil feeds` shows each report type
// indented under its feed's totals, with the warnings.
func TestWriteFeedsReports(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	rows := []store.FeedStatus{
		{Name: "inbox", Report: "Accessible-RDP", FeedCounters: store.FeedCounters{LinesRead: 10, EventsOut: 8, Warnings: 2},
			LastRun: now.Add(-time.Hour), LastEvent: now.Add(-2 * time.Hour)},
		{Name: "inbox", Report: "Sinkhole-HTTP", FeedCounters: store.FeedCounters{LinesRead: 5, EventsOut: 4, DeadLetters: 1},
			LastRun: now.Add(-3 * time.Hour), LastError: "line 4: odd"},
	}
	var b strings.Builder
	writeFeeds(&b, store.SumFeeds(rows), now)
	want := []string{
		"FEED              LAST RUN          LINES  EVENTS  DEAD LETTERS  DUPLICATES  WARNINGS  LAG     LAST ERROR",
		"inbox             2026-12-01 11:00  15     12      1             0           2         2h0m0s",
		"  Accessible-RDP  2026-12-01 11:00  10     8       0             0           2         2h0m0s",
		"  Sinkhole-HTTP   2026-12-01 09:00  5      4       1             0           0         -       line 4: odd",
	}
	got := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i := range got {
		got[i] = strings.TrimRight(got[i], " ")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("vigil feeds printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
