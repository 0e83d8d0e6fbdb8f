package console

import (
	"net/http"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
)

// recentCap bounds the "events in the last 24 hours" count: the store
// counts only everything, so the figure comes from one capped search page.
const recentCap = 1000

// homePage is the data of the start page.
type homePage struct {
	ShowCounts      bool
	Events          int64
	Recent          int
	RecentMore      bool // more than Recent
	DeadLetters     int64
	FeedsWithErrors int
	RetryAvailable  bool
	// Saved are the user's saved searches and the team's, each a link.
	Saved []savedItem
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.user.Role == auth.RoleConstituent {
		// Constituents have their own start page.
		http.Redirect(w, r, "/portal/", http.StatusSeeOther)
		return
	}
	var p homePage
	if auth.Can(v.user.Role, auth.ReadEvents) {
		ctx := r.Context()
		p.ShowCounts = true
		var err error
		if p.Events, err = c.store.CountEvents(ctx); err != nil {
			c.fail(w, r, v, err)
			return
		}
		page, err := c.store.SearchEvents(ctx, store.EventQuery{From: c.now().Add(-24 * time.Hour), Limit: recentCap})
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		p.Recent, p.RecentMore = len(page.Events), page.Next != ""
		counts, err := c.store.CountDeadLetters(ctx)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		for _, n := range counts {
			p.DeadLetters += n
		}
		feeds, err := c.store.ListFeedStatus(ctx)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		for _, f := range feeds {
			if f.LastError != "" {
				p.FeedsWithErrors++
			}
		}
		var events eventsPage
		if err := c.savedSearchesInto(ctx, v, teamSaved, &events); err != nil {
			c.fail(w, r, v, err)
			return
		}
		p.Saved = append(events.Saved.Own, events.Saved.Team...)
	}
	c.render(w, r, v, http.StatusOK, "home", msgTitleHome, p, flashOf(r), "")
}
