package console

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
)

// The searches of the incident list and the triage queue: the form's
// fields read from the query string into an incident.IncidentQuery or
// incident.ReportQuery, the built-in views of the incident list with
// their counts, and the query strings the pages' links and exports keep.

// searchDate is the layout of the forms' date fields (<input
// type="date">); dates are days in UTC, the To day included.
const searchDate = "2006-01-02"

// parseDay reads a date field: the start of the day, or zero (with ok
// false) when it is not a date.
func parseDay(s string) (time.Time, bool) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(searchDate, s)
	return t, err == nil
}

// dateBounds reads the from and to fields into a query's bounds (the To
// day included): the fields as kept (cleared when they are no dates),
// and the bounds.
func dateBounds(qv url.Values) (from, to string, fromT, toT time.Time) {
	from, to = strings.TrimSpace(qv.Get("from")), strings.TrimSpace(qv.Get("to"))
	var ok bool
	if fromT, ok = parseDay(from); !ok {
		from = ""
	}
	if toT, ok = parseDay(to); !ok {
		to = ""
	} else if !toT.IsZero() {
		toT = toT.AddDate(0, 0, 1)
	}
	return from, to, fromT, toT
}

// maxSearchText is the longest text or observable a search takes.
const maxSearchText = 500

func searchText(qv url.Values, key string) string {
	s := strings.ToValidUTF8(strings.TrimSpace(qv.Get(key)), "")
	if len(s) > maxSearchText {
		s = strings.ToValidUTF8(s[:maxSearchText], "")
	}
	return s
}

// incidentSearch is the incident list's search form as the query string
// gives it.
type incidentSearch struct {
	Status, Assignee, Kind, Severity string
	Text, Observable, From, To, Sort string
	Overdue                          bool
	Org                              int64
}

// searchKeys are the query string's keys of the incident search, in the
// order links write them.
var searchKeys = []string{"status", "assignee", "overdue", "org", "kind", "severity", "text", "observable", "from", "to"}

// parseIncidentSearch reads the search from the query string, dropping
// what is not valid, into the query it asks for.
func parseIncidentSearch(qv url.Values, ownID int64, now time.Time) (incidentSearch, incident.IncidentQuery) {
	s := incidentSearch{Status: qv.Get("status"), Assignee: qv.Get("assignee"), Overdue: qv.Get("overdue") != "",
		Sort: qv.Get("sort"), Text: searchText(qv, "text"), Observable: searchText(qv, "observable")}
	q := incident.IncidentQuery{Text: s.Text, Observable: s.Observable}
	switch st := incident.Status(s.Status); {
	case s.Status == "":
		q.Statuses = incident.OpenStatuses
	case s.Status == "all":
	case st.Valid():
		q.Statuses = []incident.Status{st}
	default:
		s.Status = ""
		q.Statuses = incident.OpenStatuses
	}
	switch s.Assignee {
	case "":
	case "mine":
		q.AssigneeID = ownID
	case "none":
		q.Unassigned = true
	default:
		id, err := strconv.ParseInt(s.Assignee, 10, 64)
		if err != nil || id <= 0 {
			s.Assignee = ""
		} else {
			q.AssigneeID = id
		}
	}
	if s.Overdue {
		q.OverdueAt = now
	}
	if id, err := strconv.ParseInt(qv.Get("org"), 10, 64); err == nil && id > 0 {
		q.OrgID, s.Org = id, id
	}
	if k := incident.Kind(qv.Get("kind")); k.Valid() {
		q.Kinds, s.Kind = []incident.Kind{k}, string(k)
	}
	if sev := incident.Severity(qv.Get("severity")); sev.Valid() {
		q.Severities, s.Severity = []incident.Severity{sev}, string(sev)
	}
	s.From, s.To, q.From, q.To = dateBounds(qv)
	switch incident.IncidentSort(s.Sort) {
	case incident.SortDue, incident.SortCreated:
		q.Sort = incident.IncidentSort(s.Sort)
	default:
		s.Sort = string(incident.SortUpdated)
	}
	return s, q
}

// values are the search's fields as a query string, without the order.
func (s incidentSearch) values() url.Values {
	u := url.Values{}
	set := func(k, v string) {
		if v != "" {
			u.Set(k, v)
		}
	}
	set("status", s.Status)
	set("assignee", s.Assignee)
	if s.Overdue {
		u.Set("overdue", "1")
	}
	if s.Org != 0 {
		u.Set("org", strconv.FormatInt(s.Org, 10))
	}
	set("kind", s.Kind)
	set("severity", s.Severity)
	set("text", s.Text)
	set("observable", s.Observable)
	set("from", s.From)
	set("to", s.To)
	return u
}

// listView is one of the incident list's built-in views: a link to the
// list with its filters, and how many incidents it holds.
type listView struct {
	Name    string // the catalog's cases.views.<Name>
	URL     string
	Count   int
	More    bool
	Current bool
}

// listViews are the built-in views by name, each a search.
var listViews = []struct {
	name   string
	search url.Values
}{
	{"open", url.Values{}},
	{"mine", url.Values{"assignee": {"mine"}}},
	{"unassigned", url.Values{"assignee": {"none"}}},
	{"overdue", url.Values{"overdue": {"1"}}},
	{"waiting", url.Values{"status": {string(incident.StatusWaiting)}}},
	{"closed", url.Values{"status": {string(incident.StatusClosed)}}},
}

// views counts the incidents of each built-in view, and marks the one
// the current search is.
func (c *Console) views(ctx context.Context, ownID int64, current incidentSearch) ([]listView, error) {
	out := make([]listView, 0, len(listViews))
	cur := current.values().Encode()
	for _, lv := range listViews {
		s, q := parseIncidentSearch(lv.search, ownID, c.now())
		q.Limit = 1
		page, err := c.store.ListIncidents(ctx, q)
		if err != nil {
			return nil, err
		}
		enc := s.values().Encode()
		u := "/incidents"
		if enc != "" {
			u += "?" + enc
		}
		out = append(out, listView{Name: lv.name, URL: u, Count: page.Total, More: page.More, Current: enc == cur})
	}
	return out, nil
}

// orgNames are the organisations by id, for the search form's choice and
// the exports' cells.
func (c *Console) orgNames(ctx context.Context) ([]constituency.Organisation, map[int64]string, error) {
	orgs, err := c.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		return nil, nil, err
	}
	names := make(map[int64]string, len(orgs))
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	return orgs, names, nil
}

// reportSearch is the triage queue's search form as the query string
// gives it.
type reportSearch struct {
	Kind, Channel, State       string
	Text, Observable, From, To string
	Org                        int64
	Oldest                     bool
}

// reportSearchKeys are the query string's keys of the report search.
var reportSearchKeys = []string{"kind", "channel", "state", "org", "text", "observable", "from", "to"}

// parseReportSearch reads the queue's search from the query string: the
// new reports when it names no state, every state for "all".
func parseReportSearch(qv url.Values) (reportSearch, incident.ReportQuery) {
	s := reportSearch{Kind: qv.Get("kind"), Channel: qv.Get("channel"), State: qv.Get("state"), Oldest: qv.Get("sort") == "oldest",
		Text: searchText(qv, "text"), Observable: searchText(qv, "observable")}
	q := incident.ReportQuery{Oldest: s.Oldest, States: []incident.ReportState{incident.ReportNew}, Text: s.Text, Observable: s.Observable}
	if k := incident.Kind(s.Kind); k.Valid() {
		q.Kinds = []incident.Kind{k}
	} else {
		s.Kind = ""
	}
	if ch := incident.Channel(s.Channel); ch.Valid() {
		q.Channels = []incident.Channel{ch}
	} else {
		s.Channel = ""
	}
	switch st := incident.ReportState(s.State); {
	case s.State == "all":
		q.States = nil
	case st.Valid():
		q.States = []incident.ReportState{st}
	default:
		s.State = ""
	}
	if id, err := strconv.ParseInt(qv.Get("org"), 10, 64); err == nil && id > 0 {
		q.OrgID, s.Org = id, id
	}
	s.From, s.To, q.From, q.To = dateBounds(qv)
	return s, q
}

// keep returns the query string of the keys of qv that are set, with
// sort added when it is given.
func keep(qv url.Values, keys []string, sort string) url.Values {
	u := url.Values{}
	for _, k := range keys {
		if v := qv.Get(k); v != "" {
			u.Set(k, v)
		}
	}
	if sort != "" {
		u.Set("sort", sort)
	}
	return u
}
