package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
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
	Query string `json:"query"`
	// Columns are the table's columns kept with the search, in the
	// table's order; empty: the columns of whoever opens it.
	Columns []string  `json:"columns"`
	Shared  bool      `json:"shared"`
	Mine    bool      `json:"mine"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

func toSavedSearchJSON(s savedsearch.Search, c *caller) savedSearchJSON {
	columns := s.Columns
	if columns == nil {
		columns = []string{}
	}
	return savedSearchJSON{ID: s.ID, Name: s.Name, Owner: s.Owner, Query: s.Query, Columns: columns, Shared: s.Shared,
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
	Name    string   `json:"name"`
	Query   string   `json:"query"`
	Columns []string `json:"columns"`
	Shared  bool     `json:"shared"`
}

func (h *handler) createSavedSearch(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	var in savedSearchInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	s := savedsearch.Search{UserID: c.user.ID, Owner: c.user.Name, Name: in.Name, Shared: in.Shared, Columns: in.Columns}
	action, detail, err := savedsearch.Create(r.Context(), h.store, savedViewer(c), &s, in.Query, store.Filters)
	if err != nil {
		return nil, savedError(err)
	}
	if action != "" {
		h.audit(r.Context(), c, action, s.Name, detail)
	}
	return created{location: "/api/v1/saved-searches/" + strconv.FormatInt(s.ID, 10), value: toSavedSearchJSON(s, c)}, nil
}

// savedError is the API's error for err of savedsearch: the console's
// message (savedsearch.MessageKey), translated, with a code and the
// parameter at fault.
func savedError(err error) error {
	var qe *savedsearch.QueryError
	switch {
	case errors.As(err, &qe) && qe.Param == "columns":
		return badParameterText("columns", i18n.M("api.error.saved.columns", columnNames()))
	case errors.As(err, &qe):
		return badParameterText("query", i18n.M("api.error.saved.query", qe.Param))
	case errors.Is(err, savedsearch.ErrNotYours):
		return errorText(http.StatusForbidden, "forbidden", "", i18n.M("api.error.saved.delete"))
	case errors.Is(err, savedsearch.ErrShare):
		return errorText(http.StatusForbidden, "forbidden", "shared", i18n.M(savedsearch.MessageKey(err)))
	case errors.Is(err, savedsearch.ErrName):
		return badParameterText("name", i18n.M(savedsearch.MessageKey(err)))
	case errors.Is(err, savedsearch.ErrQueryLength):
		return badParameterText("query", i18n.M("api.error.saved.long"))
	case errors.Is(err, savedsearch.ErrNameTaken):
		return errorText(http.StatusConflict, "name_taken", "name", i18n.M(savedsearch.MessageKey(err)))
	case errors.Is(err, savedsearch.ErrTooMany):
		return errorText(http.StatusConflict, "too_many", "", i18n.M(savedsearch.MessageKey(err)))
	}
	return fmt.Errorf("saved search: %w", err)
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
		return savedsearch.Search{}, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.saved.notfound"))
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
	action, detail, err := savedsearch.Delete(r.Context(), h.store, savedViewer(c), s)
	if err != nil {
		return nil, savedError(err)
	}
	if action != "" {
		h.audit(r.Context(), c, action, s.Name, detail)
	}
	return noContent{}, nil
}

// columnNames lists the columns a saved search may keep.
func columnNames() string {
	var names []string
	for _, c := range savedsearch.TableColumns {
		names = append(names, c.Field)
	}
	return strings.Join(names, ", ")
}

// savedSearchEvents runs a saved search as GET /events runs its query: a
// page of JSON in the saved sort with the saved grouping's counts, or a
// whole CSV or JSON lines file, newest first (a file has no grouping,
// and is sorted by time as GET /events writes it).
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
	if f := given.Get("format"); f != "" && f != formatJSON {
		for _, view := range []string{"sort", "dir", "group"} {
			values.Del(view)
		}
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
