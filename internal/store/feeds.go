package store

import (
	"cmp"
	"slices"
)

// FeedTotals is one configured feed with the rows of the report types it
// brought, as the feeds page and `vigil feeds` show them.
type FeedTotals struct {
	// FeedStatus sums the feed's own row and its reports' rows: LastRun
	// and LastEvent are the newest of them, LastError is the error of the
	// newest run (an error of an older run stays on its report's row).
	FeedStatus
	// Reports are the feed's report types, ordered by name.
	Reports []FeedStatus
}

// SumFeeds groups rows of ListFeedStatus by feed, ordered by feed name.
func SumFeeds(rows []FeedStatus) []FeedTotals {
	var out []FeedTotals
	at := map[string]int{}
	for _, r := range rows {
		i, ok := at[r.Name]
		if !ok {
			i = len(out)
			at[r.Name] = i
			out = append(out, FeedTotals{FeedStatus: FeedStatus{Name: r.Name}})
		}
		t := &out[i]
		t.add(r)
		if r.Report != "" {
			t.Reports = append(t.Reports, r)
		}
	}
	for i := range out {
		slices.SortFunc(out[i].Reports, func(a, b FeedStatus) int { return cmp.Compare(a.Report, b.Report) })
	}
	slices.SortFunc(out, func(a, b FeedTotals) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func (t *FeedTotals) add(r FeedStatus) {
	t.LinesRead += r.LinesRead
	t.EventsOut += r.EventsOut
	t.DeadLetters += r.DeadLetters
	t.Duplicates += r.Duplicates
	t.Warnings += r.Warnings
	if r.LastRun.After(t.LastRun) || (r.LastRun.Equal(t.LastRun) && t.LastError == "") {
		t.LastRun, t.LastError, t.LastProblem = r.LastRun, r.LastError, r.LastProblem
	}
	if r.LastEvent.After(t.LastEvent) {
		t.LastEvent = r.LastEvent
	}
}
