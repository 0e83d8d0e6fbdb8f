package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store"
)

// Saved searches on the events page and in the portal: a person keeps
// the search of the page (filters, sort, grouping, columns) under a
// name, opens it with one click (a link to the page with that search and
// its columns), renames and
// deletes their own; an analyst may share one with the team, and an
// admin may delete a shared one. Who may do what is savedsearch.Viewer's
// decision; a search the person may not see answers as a missing one.

// savedArea is where saved searches are kept and opened: the team's
// events page or the portal.
type savedArea struct {
	list    string   // the event list, ending in "?"
	action  string   // where the forms post
	filters []string // the list's search filters
	team    bool
}

var (
	teamSaved   = savedArea{list: "/events?", action: "/events/saved", filters: searchParams, team: true}
	portalSaved = savedArea{list: "/portal/?", action: "/portal/saved", filters: portalSearchParams}
)

// savedSearches is the saved-search box of an event list.
type savedSearches struct {
	Own  []savedItem
	Team []savedItem
	// Action is where the forms post; CanShare offers sharing (the
	// team's list only); Full says the person keeps the most allowed.
	Action   string
	CanShare bool
	Full     bool
	Max      int
}

// savedItem is one saved search in the list.
type savedItem struct {
	ID        int64
	Name      string
	Owner     string
	URL       string
	Shared    bool
	CanChange bool
	CanDelete bool
}

// url is the event list with query.
func (a savedArea) url(query string) string {
	if query == "" {
		return a.list[:len(a.list)-1]
	}
	return a.list + query
}

// viewer is the visitor as the saved searches' rules see them: only the
// team's list knows team members and admins, so that in the portal
// everyone is a constituent.
func viewer(v *visit, a savedArea) savedsearch.Viewer {
	team := a.team && v.user.Role != auth.RoleConstituent
	return savedsearch.Viewer{UserID: v.user.ID, Team: team, Admin: team && v.user.Role == auth.RoleAdmin}
}

// savedSearchesInto fills in p's saved-search box for the visitor.
func (c *Console) savedSearchesInto(ctx context.Context, v *visit, a savedArea, p *eventsPage) error {
	vw := viewer(v, a)
	list, err := c.store.ListSavedSearches(ctx, v.user.ID, vw.Team)
	if err != nil {
		return err
	}
	p.Saved = savedSearches{Action: a.action, CanShare: vw.Team, Max: savedsearch.MaxPerUser}
	for _, s := range vw.Visible(list) {
		// Opening a search restores its columns, those the list offers.
		open := joinQuery(s.Query, savedsearch.ColumnsQuery(savedsearch.OfferedColumns(s.Columns, vw.Team)))
		item := savedItem{ID: s.ID, Name: s.Name, Owner: s.Owner, URL: a.url(open), Shared: s.Shared,
			CanChange: vw.CanChange(s), CanDelete: vw.CanDelete(s)}
		if s.UserID == v.user.ID {
			p.Saved.Own = append(p.Saved.Own, item)
		} else {
			p.Saved.Team = append(p.Saved.Team, item)
		}
	}
	p.Saved.Full = len(p.Saved.Own) >= savedsearch.MaxPerUser
	return nil
}

// showList renders the event list the saved-search form was on, with
// values as its search, and problem when there is one.
type showList func(values url.Values, status int, problem string)

// savedHandler is a saved-search action in one area.
type savedHandler func(w http.ResponseWriter, r *http.Request, v *visit, a savedArea, show showList)

// teamSaved serves h on the team's events page.
func (c *Console) teamSaved(h savedHandler) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		h(w, r, v, teamSaved, func(values url.Values, status int, problem string) {
			c.showEvents(w, r, v, values, status, "", problem)
		})
	}
}

// portalSaved serves h in the portal, for the visitor's organisation.
func (c *Console) portalSaved(h savedHandler) portalHandler {
	return func(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
		h(w, r, v, portalSaved, func(values url.Values, status int, problem string) {
			c.showPortalEvents(w, r, v, org, values, status, "", problem)
		})
	}
}

// backTo is the list the form was posted from: its "back" field, kept
// only as far as it is a search of the list (and columns the list
// offers), so that it can lead nowhere else.
func backTo(r *http.Request, a savedArea) (string, url.Values) {
	raw, columns, _ := savedsearch.SplitColumns(r.PostFormValue("back"))
	back, err := savedsearch.Query(raw, a.filters, a.team)
	if err != nil {
		back = ""
	} else {
		back = joinQuery(back, savedsearch.ColumnsQuery(savedsearch.OfferedColumns(columns, a.team)))
	}
	values, _ := url.ParseQuery(back)
	return a.url(back), values
}

// savedProblem shows err on the list when it is one a person can fix
// (savedsearch.MessageKey says what), and reports whether it was.
func savedProblem(err error, values url.Values, show showList) bool {
	key := savedsearch.MessageKey(err)
	if key == "" {
		return false
	}
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, savedsearch.ErrNameTaken), errors.Is(err, savedsearch.ErrTooMany):
		status = http.StatusConflict
	case errors.Is(err, savedsearch.ErrShare), errors.Is(err, savedsearch.ErrNotYours):
		status = http.StatusForbidden
	}
	show(values, status, key)
	return true
}

// saveSearch keeps the search the form was on under the name given,
// with the columns the list showed: those of a saved search opened, else
// the person's own choice (those the list offers only). A person who
// never chose columns saves none: the search opens with the columns of
// whoever opens it.
func (c *Console) saveSearch(w http.ResponseWriter, r *http.Request, v *visit, a savedArea, show showList) {
	_, values := backTo(r, a)
	raw, columns, opened := savedsearch.SplitColumns(r.PostFormValue("back"))
	if !opened {
		columns = c.choiceOfColumns(r.Context(), v.user.ID)
	}
	vw := viewer(v, a)
	s := savedsearch.Search{UserID: v.user.ID, Owner: v.user.Name, Name: r.PostFormValue("name"),
		Shared: r.PostFormValue("shared") != "", Columns: savedsearch.OfferedColumns(columns, vw.Team)}
	action, detail, err := savedsearch.Create(r.Context(), c.store, vw, &s, raw, a.filters)
	if err != nil {
		if !savedProblem(err, values, show) {
			c.fail(w, r, v, err)
		}
		return
	}
	if action != "" {
		c.audit(r.Context(), v, action, s.Name, detail)
	}
	redirectDone(w, r, a.url(joinQuery(s.Query, savedsearch.ColumnsQuery(s.Columns))), "saved")
}

// savedFromPath reads the search the path names, when v may see it; it
// answers the request and returns false otherwise.
func (c *Console) savedFromPath(w http.ResponseWriter, r *http.Request, v *visit, a savedArea) (savedsearch.Search, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.notFound(w, r, v)
		return savedsearch.Search{}, false
	}
	s, err := c.store.GetSavedSearch(r.Context(), id)
	// Another's private search answers exactly like a missing one.
	if errors.Is(err, store.ErrNotFound) || err == nil && !viewer(v, a).CanSee(s) {
		c.notFound(w, r, v)
		return savedsearch.Search{}, false
	}
	if err != nil {
		c.fail(w, r, v, err)
		return savedsearch.Search{}, false
	}
	return s, true
}

// changeSavedSearch renames one of the visitor's searches and sets
// whether it is shared.
func (c *Console) changeSavedSearch(w http.ResponseWriter, r *http.Request, v *visit, a savedArea, show showList) {
	old, ok := c.savedFromPath(w, r, v, a)
	if !ok {
		return
	}
	back, values := backTo(r, a)
	s, action, detail, err := savedsearch.Change(r.Context(), c.store, viewer(v, a), old, r.PostFormValue("name"), r.PostFormValue("shared") != "")
	switch {
	case errors.Is(err, savedsearch.ErrNotYours):
		c.problem(w, r, v, http.StatusForbidden, msgForbiddenHeading, msgSavedNotYours)
		return
	case err != nil:
		if !savedProblem(err, values, show) {
			c.fail(w, r, v, err)
		}
		return
	}
	if action != "" {
		c.audit(r.Context(), v, action, s.Name, detail)
	}
	redirectDone(w, r, back, "saved-changed")
}

// deleteSavedSearch deletes a search of the visitor's, or a shared one
// when the visitor is an admin.
func (c *Console) deleteSavedSearch(w http.ResponseWriter, r *http.Request, v *visit, a savedArea, _ showList) {
	s, ok := c.savedFromPath(w, r, v, a)
	if !ok {
		return
	}
	action, detail, err := savedsearch.Delete(r.Context(), c.store, viewer(v, a), s)
	switch {
	case errors.Is(err, savedsearch.ErrNotYours):
		c.problem(w, r, v, http.StatusForbidden, msgForbiddenHeading, msgSavedNotYours)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	if action != "" {
		c.audit(r.Context(), v, action, s.Name, detail)
	}
	back, _ := backTo(r, a)
	redirectDone(w, r, back, "saved-deleted")
}
