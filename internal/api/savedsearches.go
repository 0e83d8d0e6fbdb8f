package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store"
)

// The team's saved searches, as the console's events page keeps them:
// the caller's own and those shared with the team. A private search of
// someone else answers as a missing one; only its owner, or an admin for
// a shared one, deletes a search. Constituents' tokens are refused by
// the routes' roles: a constituent never reads or runs a team search.

// savedRunParams are the query parameters of GET
// /saved-searches/{id}/events: the filters are the saved search's.
var savedRunParams = []string{"limit", "cursor", "format", "columns"}

// savedSearchJSON is a saved search as the API shows it.
type savedSearchJSON struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
	// Query is the search as the events page's query string: filters,
	// and the console's sort and grouping.
	Query   string    `json:"query"`
	Shared  bool      `json:"shared"`
	Mine    bool      `json:"mine"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

func toSavedSearchJSON(s savedsearch.Search, c *caller) savedSearchJSON {
	return savedSearchJSON{ID: s.ID, Name: s.Name, Owner: s.Owner, Query: s.Query, Shared: s.Shared,
		Mine: s.UserID == c.user.ID, Created: s.Created.UTC(), Updated: s.Updated.UTC()}
}

// savedViewer is the caller as the saved searches' rules see them.
func savedViewer(c *caller) savedsearch.Viewer {
	team := c.user.Role != auth.RoleConstituent
	return savedsearch.Viewer{UserID: c.user.ID, Team: team, Admin: team && c.user.Role == auth.RoleAdmin}
}

func (h *handler) listSavedSearches(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	v := savedViewer(c)
	list, err := h.store.ListSavedSearches(r.Context(), c.user.ID, v.Team)
	if err != nil {
		return nil, fmt.Errorf("list saved searches: %w", err)
	}
	out := struct {
		SavedSearches []savedSearchJSON `json:"saved_searches"`
	}{SavedSearches: []savedSearchJSON{}}
	for _, s := range v.Visible(list) {
		out.SavedSearches = append(out.SavedSearches, toSavedSearchJSON(s, c))
	}
	return out, nil
}

// savedSearchInput is the body of POST /saved-searches.
type savedSearchInput struct {
	Name   string `json:"name"`
	Query  string `json:"query"`
	Shared bool   `json:"shared"`
}

func (h *handler) createSavedSearch(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	var in savedSearchInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	v := savedViewer(c)
	if in.Shared && !v.Team {
		return nil, &Error{Status: http.StatusForbidden, Code: "forbidden", Parameter: "shared", Message: savedsearch.ErrShare.Error()}
	}
	query, err := savedsearch.Query(in.Query, store.Filters, v.Team)
	var qe *savedsearch.QueryError
	switch {
	case errors.As(err, &qe):
		return nil, badParameter("query", qe.Error())
	case errors.Is(err, savedsearch.ErrQueryLength):
		return nil, badParameter("query", err.Error())
	case err != nil:
		return nil, err
	}
	s := savedsearch.Search{UserID: c.user.ID, Name: in.Name, Query: query, Shared: in.Shared}
	err = h.store.CreateSavedSearch(r.Context(), &s)
	switch {
	case errors.Is(err, savedsearch.ErrName):
		return nil, badParameter("name", err.Error())
	case errors.Is(err, savedsearch.ErrQueryLength):
		return nil, badParameter("query", err.Error())
	case errors.Is(err, savedsearch.ErrNameTaken):
		return nil, &Error{Status: http.StatusConflict, Code: "name_taken", Parameter: "name", Message: err.Error()}
	case errors.Is(err, savedsearch.ErrTooMany):
		return nil, &Error{Status: http.StatusConflict, Code: "too_many", Message: err.Error()}
	case err != nil:
		return nil, fmt.Errorf("create saved search: %w", err)
	}
	if s.Shared {
		h.audit(r.Context(), c, "savedsearch.share", s.Name, "id "+strconv.FormatInt(s.ID, 10)+": "+s.Query)
	}
	return created{location: "/api/v1/saved-searches/" + strconv.FormatInt(s.ID, 10), value: toSavedSearchJSON(s, c)}, nil
}

// pathSavedSearch reads the search the path names, when the caller may
// see it: another's private search is a missing one.
func (h *handler) pathSavedSearch(r *http.Request, c *caller) (savedsearch.Search, error) {
	id, err := pathID(r)
	if err != nil {
		return savedsearch.Search{}, err
	}
	s, err := h.store.GetSavedSearch(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !savedViewer(c).CanSee(s) {
		return savedsearch.Search{}, errNotFound("no saved search with this id")
	}
	if err != nil {
		return s, fmt.Errorf("get saved search %d: %w", id, err)
	}
	return s, nil
}

func (h *handler) getSavedSearch(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	s, err := h.pathSavedSearch(r, c)
	if err != nil {
		return nil, err
	}
	return toSavedSearchJSON(s, c), nil
}

func (h *handler) deleteSavedSearch(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	s, err := h.pathSavedSearch(r, c)
	if err != nil {
		return nil, err
	}
	if !savedViewer(c).CanDelete(s) {
		return nil, &Error{Status: http.StatusForbidden, Code: "forbidden",
			Message: "only the owner deletes a saved search, or an admin a shared one"}
	}
	if err := h.store.DeleteSavedSearch(r.Context(), s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("delete saved search %d: %w", s.ID, err)
	}
	if s.Shared {
		h.audit(r.Context(), c, "savedsearch.delete", s.Name, "id "+strconv.FormatInt(s.ID, 10)+" by "+s.Owner+": "+s.Query)
	}
	return noContent{}, nil
}

// savedSearchEvents runs a saved search as GET /events runs its filters:
// newest first, a page of JSON or a whole CSV or JSON lines file. The
// console's sort and grouping are a way of looking at the table, which
// this route does not show.
func (h *handler) savedSearchEvents(r *http.Request, c *caller) (any, error) {
	given := r.URL.Query()
	if err := checkParams(given, savedRunParams); err != nil {
		return nil, err
	}
	s, err := h.pathSavedSearch(r, c)
	if err != nil {
		return nil, err
	}
	values, err := url.ParseQuery(s.Query)
	if err != nil {
		return nil, fmt.Errorf("saved search %d: %w", s.ID, err)
	}
	for _, view := range []string{"sort", "dir", "group"} {
		values.Del(view)
	}
	for name, vs := range given {
		values[name] = vs
	}
	search, err := parseEventSearch(values)
	if err != nil {
		return nil, err
	}
	return h.eventResults(r, h.store, search, "vigil-saved-search-"+strconv.FormatInt(s.ID, 10))
}
