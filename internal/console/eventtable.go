package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store"
)

// The table of events the console and the portal share: the columns a
// person chooses, sorting by a column, a count of the matches, a grouping
// with counts, and every value that names something searchable a link to
// its own search. Counts, column sorts and groupings are bounded by
// store.SearchWindow (see internal/store/table.go).

// tableSearcher is what the table reads: the store for the team, an
// organisation's constituency.EventsOf for the portal.
type tableSearcher interface {
	SearchEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error)
	CountMatches(ctx context.Context, q store.EventQuery, bound int) (int, error)
	GroupEvents(ctx context.Context, q store.EventQuery, by store.GroupKey, top int) ([]store.GroupCount, error)
}

// groupTop is how many groups a grouping shows.
const groupTop = 25

// tableColumn is a column the table can show: an event field, its
// heading (a message ID) and the sort it offers ("" for none).
type tableColumn struct {
	Field string
	Label string
	Sort  store.SortKey
	// Team marks a column the portal does not offer.
	Team bool
}

// tableColumns are the columns a person can choose from, in the order
// they are shown. The time of the event always comes first.
var tableColumns = []tableColumn{
	{Field: "extra.constituency", Label: "events.col.organisation", Team: true},
	{Field: "classification.taxonomy", Label: "search.taxonomy"},
	{Field: "classification.type", Label: "search.type", Sort: store.SortType},
	{Field: "classification.identifier", Label: "events.col.identifier"},
	{Field: "source.ip", Label: "events.source.ip", Sort: store.SortSourceIP},
	{Field: "source.port", Label: "events.source.port"},
	{Field: "source.asn", Label: "events.source.asn", Sort: store.SortSourceASN},
	{Field: "source.geolocation.cc", Label: "events.source.cc"},
	{Field: "source.fqdn", Label: "events.fqdn"},
	{Field: "source.url", Label: "events.col.source.url"},
	{Field: "destination.ip", Label: "events.col.destination.ip"},
	{Field: "destination.port", Label: "events.col.destination.port"},
	{Field: "destination.asn", Label: "events.col.destination.asn"},
	{Field: "destination.fqdn", Label: "events.col.destination.fqdn"},
	{Field: "malware.name", Label: "events.col.malware"},
	{Field: "malware.hash.sha256", Label: "events.col.sha256"},
	{Field: "feed.name", Label: "events.feed", Sort: store.SortFeed},
	{Field: "feed.provider", Label: "events.col.provider"},
}

// defaultColumns are shown until a person chooses.
var defaultColumns = []string{"classification.taxonomy", "classification.type", "source.ip", "source.port",
	"source.asn", "source.geolocation.cc", "source.fqdn", "feed.name"}

// fieldSearches names the search filter each linkable field's value is
// searched with.
var fieldSearches = map[string]string{
	"source.ip": "ip", "destination.ip": "ip",
	"source.network": "cidr", "destination.network": "cidr",
	"source.asn": "asn", "destination.asn": "asn",
	"source.fqdn": "fqdn", "destination.fqdn": "fqdn",
	// A reverse DNS name and a domain suffix are host names too: their
	// search finds the events about that host (or under that domain).
	"source.reverse_dns": "fqdn", "destination.reverse_dns": "fqdn",
	"source.domain_suffix": "fqdn", "destination.domain_suffix": "fqdn",
	"source.url": "url", "destination.url": "url",
	"malware.hash.md5": "hash", "malware.hash.sha1": "hash", "malware.hash.sha256": "hash",
	"classification.taxonomy": "taxonomy", "classification.type": "type",
	"feed.name": "feed", "extra.constituency": "org", "tlp": "tlp",
}

// groupSearches names the search filter a group's value refines with.
var groupSearches = map[store.GroupKey]string{
	store.GroupSourceIP: "ip", store.GroupSourceASN: "asn", store.GroupOrganisation: "org",
	store.GroupType: "type", store.GroupFeed: "feed",
}

// groupLabels are the headings of the groupings.
var groupLabels = map[store.GroupKey]string{
	store.GroupSourceIP: "events.source.ip", store.GroupSourceASN: "events.source.asn",
	store.GroupOrganisation: "events.col.organisation", store.GroupType: "search.type", store.GroupFeed: "events.feed",
}

// tableView is how the table is looked at, read from the URL: the sort,
// its direction, the grouping, and the columns of a saved search opened
// (none: the person's own choice). It is kept across pages and searches.
type tableView struct {
	Sort    store.SortKey
	Asc     bool
	Group   store.GroupKey
	Columns []string
}

// parseTableView reads sort, dir, group and cols; anything unknown is
// ignored, so that a mangled link still shows the search. team allows
// the groupings and columns only the team has.
func parseTableView(values url.Values, team bool) tableView {
	var v tableView
	if s := store.SortKey(values.Get("sort")); s != store.SortTime && store.ValidSort(s) {
		v.Sort = s
	}
	v.Asc = values.Get("dir") == "asc"
	if g := store.GroupKey(values.Get("group")); store.ValidGroup(g) && (team || g != store.GroupOrganisation) {
		v.Group = g
	}
	v.Columns = savedsearch.OfferedColumns(savedsearch.ParseColumns(values.Get(savedsearch.ColumnsParam)), team)
	return v
}

// encode writes the view as query parameters, without the defaults.
func (v tableView) encode(withGroup bool) string {
	p := url.Values{}
	if v.Sort != "" {
		p.Set("sort", string(v.Sort))
	}
	if v.Asc {
		p.Set("dir", "asc")
	}
	if withGroup && v.Group != "" {
		p.Set("group", string(v.Group))
	}
	// The columns last, their commas as they are: the link reads.
	return joinQuery(p.Encode(), savedsearch.ColumnsQuery(v.Columns))
}

// tableHeading is one column heading, with its sort link when it has one.
type tableHeading struct {
	Label   string
	SortURL string
	// AriaSort is "ascending" or "descending" on the sorted column.
	AriaSort string
}

// eventCell is one cell: one value, or several (the organisations of an
// event), each linked to its search when it names something searchable.
type eventCell struct {
	Field  string
	Values []linkedValue
}

// linkedValue is a value and the search it links to ("" for none).
type linkedValue struct {
	Text string
	URL  string
}

// groupRow is one line of a grouping.
type groupRow struct {
	Value string
	URL   string
	Count int
}

// tableLinks builds the table's links for one list: the list's own path
// (ending in "?"), the search as typed, the filters it has, and the view.
type tableLinks struct {
	list   string
	qs     string
	params []string
	view   tableView
}

// valueURL is the search for value in filter, or "" when the list has no
// such filter or the value would be refused by it.
func (l tableLinks) valueURL(filter, value string) string {
	if filter == "" || !slices.Contains(l.params, filter) {
		return ""
	}
	var q store.EventQuery
	if err := q.SetFilter(filter, value); err != nil {
		return ""
	}
	return l.list + joinQuery(url.Values{filter: {value}}.Encode(), l.view.encode(false))
}

// refineURL is the current search narrowed to value in filter, keeping
// the view but the grouping (the group would be one line).
func (l tableLinks) refineURL(filter, value string) string {
	if l.valueURL(filter, value) == "" {
		return ""
	}
	v, _ := url.ParseQuery(l.qs)
	v.Set(filter, value)
	return l.list + joinQuery(v.Encode(), l.view.encode(false))
}

// sortURL is the current search sorted by key: newest or largest first,
// or the other way round when it is already so sorted.
func (l tableLinks) sortURL(key store.SortKey) (href, aria string) {
	view := tableView{Sort: key, Group: l.view.Group, Columns: l.view.Columns}
	if key == store.SortTime {
		view.Sort = ""
	}
	current := l.view.Sort == view.Sort
	if current {
		aria = "descending"
		if l.view.Asc {
			aria = "ascending"
		} else {
			view.Asc = true
		}
	}
	return l.list + joinQuery(l.qs, view.encode(true)), aria
}

// linkedValues splits and links a field's value for a cell or the event
// page: the organisations of extra.constituency are one value each.
func (l tableLinks) linkedValues(field, value string) []linkedValue {
	if value == "" {
		return nil
	}
	filter := fieldSearches[field]
	if field == store.ConstituencyField {
		var handles []string
		if json.Unmarshal([]byte(value), &handles) == nil {
			out := make([]linkedValue, 0, len(handles))
			for _, h := range handles {
				out = append(out, linkedValue{Text: h, URL: l.valueURL(filter, h)})
			}
			return out
		}
	}
	return []linkedValue{{Text: value, URL: l.valueURL(filter, value)}}
}

// chosenColumns returns the columns the user chose (or the defaults),
// those the list offers only.
func chosenColumns(fields []string, team bool) []tableColumn {
	var out []tableColumn
	for _, c := range tableColumns {
		if slices.Contains(fields, c.Field) && (team || !c.Team) {
			out = append(out, c)
		}
	}
	return out
}

// columnChoice is one checkbox of the column form.
type columnChoice struct {
	Field   string
	Label   string
	Checked bool
	// URL is where a grouping's choice leads.
	URL string
}

// columnsStateKey is the state entry holding a user's columns.
func columnsStateKey(userID int64) string {
	return "console.columns.user." + strconv.FormatInt(userID, 10)
}

// loadColumns reads the user's choice of columns; the defaults when there
// is none or it cannot be read.
func (c *Console) loadColumns(ctx context.Context, userID int64) []string {
	if fields := c.choiceOfColumns(ctx, userID); fields != nil {
		return fields
	}
	return defaultColumns
}

// choiceOfColumns reads the columns the user chose; nil when they never
// chose or it cannot be read.
func (c *Console) choiceOfColumns(ctx context.Context, userID int64) []string {
	raw, err := c.store.GetState(ctx, columnsStateKey(userID))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.logger.Warn("read column choice", "user", userID, "err", err)
		}
		return nil
	}
	var fields []string
	if err := json.Unmarshal(raw, &fields); err != nil || len(fields) == 0 {
		return nil
	}
	return fields
}

// saveColumns keeps the columns chosen in the form (those that exist
// only) and returns to the list the form was on.
func (c *Console) saveColumns(w http.ResponseWriter, r *http.Request, v *visit, list string, team bool) {
	var fields []string
	for _, col := range tableColumns {
		if (team || !col.Team) && slices.Contains(r.PostForm["col"], col.Field) {
			fields = append(fields, col.Field)
		}
	}
	if len(fields) == 0 {
		fields = defaultColumns
	}
	raw, _ := json.Marshal(fields)
	if err := c.store.PutState(r.Context(), columnsStateKey(v.user.ID), raw); err != nil {
		c.fail(w, r, v, err)
		return
	}
	// The return address is rebuilt from parsed values, so it can only
	// ever be the list itself.
	back, _ := url.ParseQuery(r.PostFormValue("back"))
	params := searchParams
	if !team {
		params = portalSearchParams
	}
	_, form, _ := parseSearchOf(back, params)
	// The columns just chosen replace those of a saved search opened.
	view := parseTableView(back, team)
	view.Columns = nil
	qs := joinQuery(form.encodeOf(params), view.encode(true))
	http.Redirect(w, r, list+qs, http.StatusSeeOther)
}

// fillTable runs the page's count, grouping and rows for q on events.
func (c *Console) fillTable(r *http.Request, events tableSearcher, p *eventsPage, q store.EventQuery, page store.EventPage, fields []string, l tableLinks, team bool, eventPrefix string) error {
	n, err := events.CountMatches(r.Context(), q, store.SearchWindow)
	if err != nil {
		return err
	}
	p.Count, p.CountMore, p.Window = min(n, store.SearchWindow), n > store.SearchWindow, store.SearchWindow
	p.Sorted = l.view.Sort != ""
	p.View = l.view
	p.ViewQuery = l.view.encode(true)
	p.Back = joinQuery(l.qs, p.ViewQuery)
	for _, g := range store.GroupKeys {
		if team || g != store.GroupOrganisation {
			view := l.view
			view.Group = g
			p.GroupChoices = append(p.GroupChoices, columnChoice{Field: string(g), Label: groupLabels[g],
				Checked: g == l.view.Group, URL: l.list + joinQuery(l.qs, view.encode(true))})
		}
	}
	if l.view.Group != "" {
		p.UngroupURL = l.list + joinQuery(l.qs, l.view.encode(false))
	}
	p.ColumnsAction = "/portal/columns"
	if team {
		p.ColumnsAction = "/events/columns"
	}
	if l.view.Group != "" {
		groups, err := events.GroupEvents(r.Context(), q, l.view.Group, groupTop)
		if err != nil {
			return err
		}
		p.GroupLabel = groupLabels[l.view.Group]
		for _, g := range groups {
			p.Groups = append(p.Groups, groupRow{Value: g.Value, URL: l.refineURL(groupSearches[l.view.Group], g.Value), Count: g.Count})
		}
	}
	columns := chosenColumns(fields, team)
	href, aria := l.sortURL(store.SortTime)
	p.Headings = []tableHeading{{Label: "events.time", SortURL: href, AriaSort: aria}}
	for _, col := range columns {
		h := tableHeading{Label: col.Label}
		if col.Sort != "" {
			h.SortURL, h.AriaSort = l.sortURL(col.Sort)
		}
		p.Headings = append(p.Headings, h)
	}
	for _, col := range tableColumns {
		if team || !col.Team {
			p.Columns = append(p.Columns, columnChoice{Field: col.Field, Label: col.Label, Checked: slices.Contains(fields, col.Field)})
		}
	}
	back := url.QueryEscape(p.Back)
	for _, se := range page.Events {
		p.Rows = append(p.Rows, eventTableRow(se, columns, l, eventPrefix+se.Hash.String()+"?back="+back))
	}
	if team {
		return c.flagFalsePositives(r, page.Events, p.Rows)
	}
	return nil
}

// eventTableRow is one event's line of the table.
func eventTableRow(se store.StoredEvent, columns []tableColumn, l tableLinks, eventURL string) eventRow {
	e := se.Event
	row := eventRow{Hash: se.Hash.String(), URL: eventURL, Time: e.Value("time.source")}
	if t, ok := e.Time("time.source"); ok {
		row.At = t
	}
	for _, col := range columns {
		row.Cells = append(row.Cells, eventCell{Field: col.Field, Values: l.linkedValues(col.Field, e.Value(col.Field))})
	}
	return row
}

// mono reports whether a field is shown in the fixed-width font
// (addresses, names and hashes, whose characters must be told apart).
func mono(field string) bool {
	return strings.HasSuffix(field, ".ip") || strings.HasSuffix(field, ".fqdn") || strings.HasSuffix(field, ".url") ||
		strings.HasPrefix(field, "malware.hash.") || strings.HasSuffix(field, ".network")
}

// eventColumns keeps the user's choice of columns for the team's list.
func (c *Console) eventColumns(w http.ResponseWriter, r *http.Request, v *visit) {
	c.saveColumns(w, r, v, "/events?", true)
}
