package console

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// feedRow is one feed's line on the feeds page.
type feedRow struct {
	store.FeedStatus
	// Lag is now minus the newest event's time; HasLag is false before
	// the first event.
	Lag    time.Duration
	HasLag bool
	// Configured is false for a feed that has statistics but is no
	// longer in the configuration.
	Configured bool
}

func (c *Console) feeds(w http.ResponseWriter, r *http.Request, v *visit) {
	status, err := c.store.ListFeedStatus(r.Context())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	configured := map[string]bool{}
	if c.feedNames != nil {
		for _, n := range c.feedNames() {
			configured[n] = true
		}
	}
	now := c.now()
	seen := map[string]bool{}
	var rows []feedRow
	for _, s := range status {
		seen[s.Name] = true
		row := feedRow{FeedStatus: s, Configured: configured[s.Name] || c.feedNames == nil}
		if !s.LastEvent.IsZero() {
			row.Lag, row.HasLag = now.Sub(s.LastEvent), true
		}
		rows = append(rows, row)
	}
	for n := range configured {
		if !seen[n] {
			rows = append(rows, feedRow{FeedStatus: store.FeedStatus{Name: n}, Configured: true})
		}
	}
	slices.SortFunc(rows, func(a, b feedRow) int { return strings.Compare(a.Name, b.Name) })
	c.render(w, r, v, http.StatusOK, "feeds", msgTitleFeeds, rows, "", "")
}
