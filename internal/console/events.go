package console

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/export"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
	"github.com/vigil-cert/vigil/internal/tlp"
)

// pageSize is how many events a result page shows.
const pageSize = 50

// searchParams are the search form's fields, in the order links carry them.
var searchParams = []string{"ip", "cidr", "asn", "fqdn", "url", "hash", "taxonomy", "type", "feed", "tlp", "org", "from", "to"}

// searchForm is the search form as typed, shown again with the results.
type searchForm map[string]string

// parseSearch turns the form into a store query. problems maps a field to
// the message ID explaining what is wrong with it.
// searchProblems are the messages shown beside a search field whose value
// was refused.
var searchProblems = map[string]string{
	"ip": msgSearchIP, "cidr": msgSearchCIDR, "asn": msgSearchASN, "fqdn": msgSearchFQDN,
	"url": msgSearchURL, "hash": msgSearchHash, "taxonomy": msgSearchTaxonomy, "type": msgSearchType,
	"tlp": msgSearchTLP, "org": msgSearchOrg, "from": msgSearchTime, "to": msgSearchTime,
}

func parseSearch(values url.Values) (store.EventQuery, searchForm, map[string]string) {
	return parseSearchOf(values, searchParams)
}

// parseSearchOf reads the search fields params (a subset of
// store.Filters) from values.
func parseSearchOf(values url.Values, params []string) (store.EventQuery, searchForm, map[string]string) {
	form := make(searchForm, len(params))
	var q store.EventQuery
	problems := make(map[string]string)
	for _, name := range params {
		form[name] = strings.TrimSpace(values.Get(name))
		if err := q.SetFilter(name, form[name]); err != nil {
			problems[name] = searchProblems[name]
		}
	}
	return q, form, problems
}

// encode writes the non-empty fields as a query string, for paging and
// export links.
func (f searchForm) encode() string { return f.encodeOf(searchParams) }

// encodeOf writes the non-empty fields of params, in their order.
func (f searchForm) encodeOf(params []string) string {
	v := url.Values{}
	for _, p := range params {
		if f[p] != "" {
			v.Set(p, f[p])
		}
	}
	return v.Encode()
}

// eventsPage is the data of the search page.
type eventsPage struct {
	Form        searchForm
	Problems    map[string]string
	Rows        []eventRow
	Paged       bool   // this is not the first page
	FirstURL    string // the first page of this search
	NextURL     string // "" on the last page
	ExportCSV   string
	ExportJSONL string
	Taxonomies  []string
	Types       []string
	TLPs        []string
	Feeds       []string

	// Count is how many events match, up to Window; CountMore says there
	// are more than Window.
	Count     int
	CountMore bool
	Window    int
	// Sorted is set when a column other than time orders the page, which
	// then covers the newest Window matches.
	Sorted bool
	// View is the sort and the grouping; ViewQuery is them as query
	// parameters, and Back the search with them, for the forms that keep
	// them.
	View      tableView
	ViewQuery string
	Back      string
	Headings  []tableHeading
	// Columns are the choices of the column form, sent to ColumnsAction.
	Columns       []columnChoice
	ColumnsAction string
	// GroupChoices are the groupings offered; Groups the chosen one's
	// largest groups, under GroupLabel.
	GroupChoices []columnChoice
	GroupLabel   string
	Groups       []groupRow
	UngroupURL   string
	// Saved are the person's saved searches and the team's.
	Saved savedSearches
	// Bar is the bar of what may be done with the ticked events
	// (eventincidents.go); nil hides it and the row checkboxes.
	Bar *eventBar
}

// eventRow is one result line: the time (linked to the event's page)
// and the chosen columns. At is the event's time, written in the
// reader's language; Time is the value as it came when it is no time.
type eventRow struct {
	Hash  string
	URL   string
	At    time.Time
	Time  string
	Cells []eventCell
	// FalsePositive flags an event whose observation is marked a false
	// positive (the team's table only).
	FalsePositive bool
}

// eventLinks are where the links of an event list lead: the list itself
// (with "?"), its exports (without ".csv") and each event's page; params
// are the search filters the list has, team whether it is the team's.
type eventLinks struct {
	list, export, event string
	params              []string
	team                bool
}

// searchInto runs q on events (the store for the team, an organisation's
// constituency.EventsOf for the portal) from the cursor in values and fills in p's
// results and links; qs is the encoded search and fields the user's
// columns, unless values name those of a saved search. A bad cursor is a problem for the user (a mangled link), not
// an error.
func (c *Console) searchInto(r *http.Request, events tableSearcher, p *eventsPage, q store.EventQuery, values url.Values, qs string, fields []string, l eventLinks) (problem string, err error) {
	view := parseTableView(values, l.team)
	if len(view.Columns) > 0 {
		fields = view.Columns
	}
	links := tableLinks{list: l.list, qs: qs, params: l.params, view: view}
	viewQS := view.encode(true)
	sq := q
	sq.Limit, sq.After, sq.Sort, sq.Ascending = pageSize, values.Get("cursor"), view.Sort, view.Asc
	page, err := events.SearchEvents(r.Context(), sq)
	if err != nil {
		if values.Get("cursor") != "" {
			c.logger.Info("event search with a bad cursor", "err", err)
			return msgSearchCursor, nil
		}
		return "", err
	}
	p.Paged = values.Get("cursor") != ""
	p.FirstURL = l.list + joinQuery(qs, viewQS)
	if page.Next != "" {
		p.NextURL = l.list + joinQuery(joinQuery(qs, viewQS), "cursor="+url.QueryEscape(page.Next))
	}
	p.ExportCSV = l.export + ".csv?" + qs
	p.ExportJSONL = l.export + ".jsonl?" + qs
	return "", c.fillTable(r, events, p, q, page, fields, links, l.team, l.event)
}

func (c *Console) events(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showEvents(w, r, v, r.URL.Query(), http.StatusOK, flashOf(r), "")
}

// showEvents renders the search page for values, with the saved
// searches; a refused search, or problem (a message ID), is shown with
// an error status, status otherwise.
func (c *Console) showEvents(w http.ResponseWriter, r *http.Request, v *visit, values url.Values, status int, flash, problem string) {
	q, form, problems := parseSearch(values)
	p := eventsPage{
		Form:       form,
		Problems:   problems,
		Taxonomies: taxonomy.Names(),
		Types:      taxonomy.Types(),
		TLPs:       tlp.Strings(),
		Feeds:      c.knownFeeds(r),
	}
	if err := c.savedSearchesInto(r.Context(), v, teamSaved, &p); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if len(problems) > 0 {
		c.render(w, r, v, http.StatusBadRequest, "events", msgTitleEvents, p, "", msgSearchInvalid)
		return
	}
	searchProblem, err := c.searchInto(r, c.store, &p, q, values, form.encode(), c.loadColumns(r.Context(), v.user.ID),
		eventLinks{list: "/events?", export: "/events/export", event: "/events/", params: searchParams, team: true})
	switch {
	case searchProblem != "":
		c.render(w, r, v, http.StatusBadRequest, "events", msgTitleEvents, p, "", searchProblem)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	if len(p.Rows) > 0 {
		p.Bar = c.eventBarFor(r, v, nil)
	}
	c.render(w, r, v, status, "events", msgTitleEvents, p, flash, problem)
}

func joinQuery(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "&" + b
}

// knownFeeds are the feed names for the search form's suggestions: the
// configured feeds, and the report types they brought, whose events carry
// the report's feed name ("Accessible-RDP") rather than the feed's.
func (c *Console) knownFeeds(r *http.Request) []string {
	var names []string
	if c.feedNames != nil {
		names = append(names, c.feedNames()...)
	}
	if feeds, err := c.store.ListFeedStatus(r.Context()); err == nil {
		for _, f := range feeds {
			names = append(names, f.Name)
			if f.Report != "" {
				names = append(names, f.Report)
			}
		}
	} else {
		c.logger.Warn("list feeds for suggestions", "err", err)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// detailPage is the data of one event's page.
type detailPage struct {
	Hash     string
	Stored   time.Time
	Sections []eventSection
	// Raw is the source line decoded; RawHex is used instead when it is
	// not text. RawColumns are its values by column name when it is a CSV
	// row under its header, as the CSV parsers keep it.
	Raw        string
	RawHex     string
	RawColumns []rawColumn
	HasRaw     bool
	BackURL    string
	// ShowNotifications adds the notifications that reported the event,
	// for the team only (the portal's event page shares the template).
	ShowNotifications bool
	Notifications     []outbox.Message
	// Actions are notifying now and marking a false positive, for the
	// team only; nil on the portal.
	Actions *eventActions
	// Bar is the bar of what may be done with the event (eventincidents.go).
	Bar *eventBar
}

func (c *Console) eventDetail(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showEventDetail(w, r, v, http.StatusOK, "")
}

// showEventDetail renders the page of the event of the path, with a
// problem from its action bar.
func (c *Console) showEventDetail(w http.ResponseWriter, r *http.Request, v *visit, status int, problem string) {
	h, ok := event.ParseHash(strings.ToLower(r.PathValue("hash")))
	if !ok {
		c.notFound(w, r, v)
		return
	}
	se, err := c.store.GetEvent(r.Context(), h)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := eventDetailData(se, tableLinks{list: "/events?", params: searchParams})
	// The back link is rebuilt from the parsed search fields, so it can
	// only ever point at the search page.
	if back, err := url.ParseQuery(r.URL.Query().Get("back")); err == nil {
		_, form, _ := parseSearch(back)
		if qs := joinQuery(form.encode(), parseTableView(back, true).encode(true)); qs != "" {
			p.BackURL = "/events?" + qs
		}
	}
	if v.can(auth.ManageNotifications) {
		if p.Notifications, err = c.eventNotifications(r.Context(), h); err != nil {
			c.fail(w, r, v, err)
			return
		}
		p.ShowNotifications = true
	}
	if p.Actions, err = c.eventActionsOf(r, v, se); err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Bar = c.eventBarFor(r, v, []string{p.Hash})
	c.render(w, r, v, status, "event", msgTitleEvent, p, flashOf(r), problem)
}

// eventDetailData is the detail page of an event, its values linked by l
// and its back link pointing at the analysts' search.
func eventDetailData(se store.StoredEvent, l tableLinks) detailPage {
	p := detailPage{Hash: se.Hash.String(), Stored: se.Stored, BackURL: "/events", Sections: eventSections(se, l)}
	p.rawLine(se.Event.Raw())
	return p
}

func (c *Console) exportCSV(w http.ResponseWriter, r *http.Request, v *visit) {
	c.exportEvents(w, r, v, "csv")
}

func (c *Console) exportJSONLines(w http.ResponseWriter, r *http.Request, v *visit) {
	c.exportEvents(w, r, v, "jsonl")
}

// exportEvents streams the whole result of the analysts' search.
func (c *Console) exportEvents(w http.ResponseWriter, r *http.Request, v *visit, format string) {
	q, form, problems := parseSearch(r.URL.Query())
	if len(problems) > 0 {
		p := eventsPage{Form: form, Problems: problems, Taxonomies: taxonomy.Names(), Types: taxonomy.Types(),
			TLPs: tlp.Strings(), Feeds: c.knownFeeds(r)}
		c.render(w, r, v, http.StatusBadRequest, "events", msgTitleEvents, p, "", msgSearchInvalid)
		return
	}
	c.writeExport(w, r, v, c.store, q, "vigil-events", format)
}

// writeExport streams every event of q in events (the store, or an
// organisation's constituency.EventsOf), page after page, as a CSV or JSON lines
// download named after prefix and the time.
func (c *Console) writeExport(w http.ResponseWriter, r *http.Request, v *visit, events export.EventSearcher, q store.EventQuery, prefix, format string) {
	contentType, write := "text/csv; charset=utf-8", func(w io.Writer, events export.Events) error {
		return export.WriteCSV(w, events, export.CSVOptions{})
	}
	if format == "jsonl" {
		contentType, write = "application/x-ndjson", export.WriteJSONLines
	}
	name := fmt.Sprintf("%s-%s.%s", prefix, c.now().UTC().Format("20060102T150405Z"), format)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := write(w, export.Search(r.Context(), events, q)); err != nil {
		// The response has begun: the error can only be logged, and the
		// cut-off file shows the person that something went wrong.
		c.logger.Error("event export", "user", v.user.Name, "format", format, "err", err)
	}
}
