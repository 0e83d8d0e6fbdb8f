package console

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/store"
)

// feedRow is one line on the feeds page: a configured feed with its
// totals, or, indented under it, one report type the feed brought.
type feedRow struct {
	store.FeedStatus
	// Lag is now minus the newest event's time; HasLag is false before
	// the first event.
	Lag    time.Duration
	HasLag bool
	// Configured is false for a feed that has statistics but is no
	// longer in the configuration.
	Configured bool
	// Reports are the rows under a feed: one per report type, and one for
	// what the feed counted itself (Own) when it has reports too.
	Reports []feedRow
	// Own marks the row of what a feed with reports counted outside them
	// (inputs of no known report type, failed downloads).
	Own bool
	// Managed is the feed's definition and state when the console
	// manages the feeds (Origin empty otherwise).
	Origin  config.Origin
	Paused  bool
	Stopped bool // neither running nor paused: enabled: false
}

// feedsPage is the feeds page: every feed's row, and whether the person
// may manage them.
type feedsPage struct {
	Rows      []feedRow
	Managed   bool
	CanManage bool
}

func (c *Console) feeds(w http.ResponseWriter, r *http.Request, v *visit) {
	status, err := c.store.ListFeedStatus(r.Context())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	effective, err := c.effectiveFeeds(r.Context())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := feedsPage{Rows: c.feedRows(status, effective), Managed: c.feedManager != nil,
		CanManage: c.feedManager != nil && auth.Can(v.user.Role, auth.ManageFeeds)}
	c.render(w, r, v, http.StatusOK, "feeds", msgTitleFeeds, p, flashOf(r), "")
}

// feedRows groups the stored rows by feed, adds the configured feeds not
// run yet, and orders the feeds by name. The configured feeds are the
// effective ones when the console manages them, else FeedNames'.
func (c *Console) feedRows(status []store.FeedStatus, effective []config.EffectiveFeed) []feedRow {
	configured := map[string]bool{}
	known := c.feedNames != nil || c.feedManager != nil
	if c.feedNames != nil && c.feedManager == nil {
		for _, n := range c.feedNames() {
			configured[n] = true
		}
	}
	byName := map[string]config.EffectiveFeed{}
	for _, f := range effective {
		configured[f.Name] = true
		byName[f.Name] = f
	}
	now := c.now()
	row := func(s store.FeedStatus) feedRow {
		fr := feedRow{FeedStatus: s}
		if !s.LastEvent.IsZero() {
			fr.Lag, fr.HasLag = now.Sub(s.LastEvent), true
		}
		return fr
	}
	manage := func(fr *feedRow) {
		if f, ok := byName[fr.Name]; ok {
			fr.Origin, fr.Paused, fr.Stopped = f.Origin, f.Paused(), !f.Runs() && !f.Paused()
		}
	}
	own := map[string]store.FeedStatus{}
	for _, s := range status {
		if s.Report == "" {
			own[s.Name] = s
		}
	}
	seen := map[string]bool{}
	var rows []feedRow
	for _, t := range store.SumFeeds(status) {
		seen[t.Name] = true
		fr := row(t.FeedStatus)
		fr.Configured = configured[t.Name] || !known
		manage(&fr)
		for _, rep := range t.Reports {
			fr.Reports = append(fr.Reports, row(rep))
		}
		if o, ok := own[t.Name]; ok && len(t.Reports) > 0 && (o.FeedCounters != (store.FeedCounters{}) || o.LastError != "") {
			or := row(o)
			or.Own = true
			fr.Reports = append(fr.Reports, or)
		}
		rows = append(rows, fr)
	}
	for n := range configured {
		if !seen[n] {
			fr := feedRow{FeedStatus: store.FeedStatus{Name: n}, Configured: true}
			manage(&fr)
			rows = append(rows, fr)
		}
	}
	slices.SortFunc(rows, func(a, b feedRow) int { return strings.Compare(a.Name, b.Name) })
	return rows
}
