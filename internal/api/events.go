package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/export"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// eventParams are the query parameters of GET /events. Any other name is
// refused: a mistyped filter ("ipaddr=") silently returning every event
// would mislead an analyst, and would send a constituent too much.
var eventParams = []string{
	"ip", "cidr", "asn", "fqdn", "url", "hash", "taxonomy", "type", "feed", "tlp",
	"from", "to", "org", "limit", "cursor", "format", "columns", "sort", "dir", "group",
}

// groupTop is how many groups a grouping answers, as the console shows.
const groupTop = 25

// Export formats of GET /events.
const (
	formatJSON       = "json"
	formatCSV        = "csv"
	formatJSONLines  = "jsonl"
	maxPageSize      = 10000
	defaultPageSize  = 50
	columnsAllFields = "all"
)

// eventSearch is a parsed GET /events request.
type eventSearch struct {
	query   store.EventQuery
	format  string
	csv     export.CSVOptions
	maximum int // csv and jsonl: stop after this many events; 0 streams all
	// group is the column the matches are grouped by, "" for none.
	group store.GroupKey
}

// parseEventSearch reads the query parameters of GET /events; the error
// names the parameter at fault.
func parseEventSearch(values url.Values) (eventSearch, error) {
	return parseEventSearchOf(values, eventParams)
}

// parseEventSearchOf reads the parameters of an event search that takes
// the parameters params (a subset of eventParams).
func parseEventSearchOf(values url.Values, params []string) (eventSearch, error) {
	s := eventSearch{format: formatJSON}
	if err := checkParams(values, params); err != nil {
		return s, err
	}
	q := &s.query
	get := values.Get
	for _, name := range store.Filters {
		if !slices.Contains(params, name) {
			continue
		}
		if err := q.SetFilter(name, get(name)); err != nil {
			var fe *store.FilterError
			if errors.As(err, &fe) {
				return s, badParameterText(name, i18n.M("api.error.param.filter", name, fe.Message))
			}
			return s, err
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return s, badParameterText("to", i18n.M("api.error.events.to"))
	}
	var err error
	switch v := get("format"); v {
	case "", formatJSON:
	case formatCSV, formatJSONLines:
		s.format = v
	default:
		return s, badParameterText("format", i18n.M("api.error.events.format"))
	}
	if v := get("columns"); v != "" {
		if s.format != formatCSV {
			return s, badParameterText("columns", i18n.M("api.error.events.columns"))
		}
		if v == columnsAllFields {
			s.csv.AllFields = true
		} else if s.csv.Columns, err = export.ParseColumns(v); err != nil {
			return s, badParameterText("columns", i18n.M("api.error.columns.bad", v))
		}
	}
	if err := parseTableView(&s, values, params); err != nil {
		return s, err
	}
	if v := get("cursor"); v != "" {
		// A sort by another column than time pages by an offset in its
		// window, which has a cursor of its own.
		_, err := store.ParseCursor(v)
		if q.Sort.Windowed() {
			_, err = store.ParseWindowCursor(v)
		}
		if err != nil {
			return s, badParameterText("cursor", i18n.M("api.error.cursor"))
		}
		q.After = v
	}
	limit := 0
	if v := get("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 1 {
			return s, badParameterText("limit", i18n.M("api.error.param.positive", "limit"))
		}
	}
	if s.format == formatJSON {
		if limit > maxPageSize {
			return s, badParameterText("limit", i18n.M("api.error.events.limit", maxPageSize))
		}
		q.Limit = cmp.Or(limit, defaultPageSize)
	} else {
		// An export streams page after page (of the handler's export page
		// size); limit caps its total.
		s.maximum = limit
	}
	return s, nil
}

// parseTableView reads sort, dir and group, what the console's table of
// events offers: a sort by another column than time orders the newest
// store.SearchWindow matches, and a grouping counts them.
func parseTableView(s *eventSearch, values url.Values, params []string) error {
	q := &s.query
	if v := values.Get("sort"); v != "" {
		if k := store.SortKey(v); !store.ValidSort(k) {
			return badParameterText("sort", i18n.M("api.error.events.sort", sortNames()))
		} else if k != store.SortTime {
			q.Sort = k
		}
	}
	switch values.Get("dir") {
	case "", "desc":
	case "asc":
		q.Ascending = true
	default:
		return badParameterText("dir", i18n.M("api.error.events.dir"))
	}
	if v := values.Get("group"); v != "" {
		g := store.GroupKey(v)
		// A constituent's events have one organisation: no grouping by it.
		if !store.ValidGroup(g) || g == store.GroupOrganisation && !slices.Contains(params, "org") {
			return badParameterText("group", i18n.M("api.error.events.group", groupNames(params)))
		}
		s.group = g
	}
	if (q.Sort != "" || q.Ascending || s.group != "") && s.format != formatJSON {
		name := "sort"
		if s.group != "" {
			name = "group"
		}
		return badParameterText(name, i18n.M("api.error.events.jsononly", name))
	}
	return nil
}

func sortNames() string {
	var names []string
	for _, k := range store.SortKeys {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

func groupNames(params []string) string {
	var names []string
	for _, k := range store.GroupKeys {
		if k != store.GroupOrganisation || slices.Contains(params, "org") {
			names = append(names, string(k))
		}
	}
	return strings.Join(names, ", ")
}

// checkParams refuses unknown and repeated query parameters.
func checkParams(values url.Values, known []string) error {
	for name, vs := range values {
		if name == "" {
			return badParameterText("(unnamed)", i18n.M("api.error.param.unnamed"))
		}
		if !slices.Contains(known, name) {
			takes := strings.Join(known, ", ")
			if takes == "" {
				return badParameterText(name, i18n.M("api.error.param.none", name))
			}
			return badParameterText(name, i18n.M("api.error.param.unknown", name, takes))
		}
		if len(vs) > 1 {
			return badParameterText(name, i18n.M("api.error.param.twice", name))
		}
	}
	return nil
}

// eventJSON is an event as the API shows it: its key, when Vigil stored
// it, and the event in IntelMQ's flat JSON form.
type eventJSON struct {
	Hash   string       `json:"hash"`
	Stored time.Time    `json:"stored"`
	Event  *event.Event `json:"event"`
}

func toEventJSON(e store.StoredEvent) eventJSON {
	return eventJSON{Hash: e.Hash.String(), Stored: e.Stored.UTC(), Event: e.Event}
}

type eventPageJSON struct {
	Events []eventJSON `json:"events"`
	// Next is absent on the last page.
	Next string `json:"next,omitempty"`
	// Count is how many events match, exact up to Window; CountMore says
	// there are more than Window ("more than 10000").
	Count     int  `json:"count"`
	CountMore bool `json:"count_more"`
	Window    int  `json:"window"`
	// Groups are the largest groups of the newest Window matches, when
	// the search asked for a grouping.
	Groups []groupJSON `json:"groups,omitempty"`
}

type groupJSON struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// tableSearcher is what a search with its count and grouping reads: the
// store for the team, an organisation's constituency.EventsOf for a
// constituent.
type tableSearcher interface {
	export.EventSearcher
	CountMatches(ctx context.Context, q store.EventQuery, bound int) (int, error)
	GroupEvents(ctx context.Context, q store.EventQuery, by store.GroupKey, top int) ([]store.GroupCount, error)
}

func (h *handler) searchEvents(r *http.Request, _ *caller) (any, error) {
	s, err := parseEventSearch(r.URL.Query())
	if err != nil {
		return nil, err
	}
	return h.eventResults(r, h.store, s, "vigil-events")
}

// eventResults runs a parsed search on events (the store for the team, an
// organisation's constituency.EventsOf for a constituent): one page of JSON, or a
// CSV or JSON lines download named name.
func (h *handler) eventResults(r *http.Request, events tableSearcher, s eventSearch, name string) (any, error) {
	ctx := r.Context()
	if s.format != formatJSON {
		s.query.Limit = h.exportPageSize
	}
	switch s.format {
	case formatCSV:
		return &download{
			contentType: "text/csv; charset=utf-8",
			filename:    name + ".csv",
			events:      export.Limit(export.Search(ctx, events, s.query), s.maximum),
			write: func(w io.Writer, events export.Events) error {
				return export.WriteCSV(w, events, s.csv)
			},
		}, nil
	case formatJSONLines:
		return &download{
			contentType: "application/x-ndjson",
			filename:    name + ".jsonl",
			events:      export.Limit(export.Search(ctx, events, s.query), s.maximum),
			write:       export.WriteJSONLines,
		}, nil
	}
	page, err := events.SearchEvents(ctx, s.query)
	if err != nil {
		return nil, fmt.Errorf("search events: %w", err)
	}
	out := eventPageJSON{Events: make([]eventJSON, len(page.Events)), Next: page.Next, Window: store.SearchWindow}
	for i, e := range page.Events {
		out.Events[i] = toEventJSON(e)
	}
	// The count and the grouping are of the search, whatever the page.
	count := s.query
	count.After, count.Sort, count.Ascending, count.Limit = "", "", false, 0
	n, err := events.CountMatches(ctx, count, store.SearchWindow)
	if err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	out.Count, out.CountMore = min(n, store.SearchWindow), n > store.SearchWindow
	if s.group != "" {
		groups, err := events.GroupEvents(ctx, count, s.group, groupTop)
		if err != nil {
			return nil, fmt.Errorf("group events: %w", err)
		}
		out.Groups = []groupJSON{}
		for _, g := range groups {
			out.Groups = append(out.Groups, groupJSON{Value: g.Value, Count: g.Count})
		}
	}
	return out, nil
}

func (h *handler) getEvent(r *http.Request, _ *caller) (any, error) {
	hash, ok := event.ParseHash(strings.ToLower(r.PathValue("hash")))
	if !ok {
		return nil, badParameterText("hash", i18n.M("api.error.event.hash"))
	}
	e, err := h.store.GetEvent(r.Context(), hash)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.event.notfound"))
		}
		return nil, fmt.Errorf("get event %s: %w", hash, err)
	}
	return toEventJSON(e), nil
}
