package console

import (
	"encoding/hex"
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
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
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
}

// eventRow is one result line.
type eventRow struct {
	URL        string
	Time       string
	Taxonomy   string
	Type       string
	SourceIP   string
	SourcePort string
	SourceASN  string
	SourceCC   string
	FQDN       string
	Feed       string
}

// eventLinks are where the links of an event list lead: the list itself
// (with "?"), its exports (without ".csv") and each event's page.
type eventLinks struct{ list, export, event string }

// searchInto runs q on events (the store for the team, an organisation's
// constituency.EventsOf for the portal) from the cursor in values and fills in p's
// results and links; qs is the encoded search. A bad cursor is a problem for the
// user (a mangled link), not an error.
func (c *Console) searchInto(r *http.Request, events export.EventSearcher, p *eventsPage, q store.EventQuery, values url.Values, qs string, l eventLinks) (problem string, err error) {
	q.Limit = pageSize
	q.After = values.Get("cursor")
	page, err := events.SearchEvents(r.Context(), q)
	if err != nil {
		if q.After != "" {
			c.logger.Info("event search with a bad cursor", "err", err)
			return msgSearchCursor, nil
		}
		return "", err
	}
	p.Paged = q.After != ""
	p.FirstURL = l.list + qs
	if page.Next != "" {
		p.NextURL = l.list + joinQuery(qs, "cursor="+url.QueryEscape(page.Next))
	}
	p.ExportCSV = l.export + ".csv?" + qs
	p.ExportJSONL = l.export + ".jsonl?" + qs
	p.Rows = eventRows(page.Events, l.event, url.QueryEscape(qs))
	return "", nil
}

func (c *Console) events(w http.ResponseWriter, r *http.Request, v *visit) {
	values := r.URL.Query()
	q, form, problems := parseSearch(values)
	p := eventsPage{
		Form:       form,
		Problems:   problems,
		Taxonomies: taxonomy.Names(),
		Types:      taxonomy.Types(),
		TLPs:       []string{"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"},
		Feeds:      c.knownFeeds(r),
	}
	if len(problems) > 0 {
		c.render(w, r, v, http.StatusBadRequest, "events", msgTitleEvents, p, "", msgSearchInvalid)
		return
	}
	problem, err := c.searchInto(r, c.store, &p, q, values, form.encode(), eventLinks{list: "/events?", export: "/events/export", event: "/events/"})
	switch {
	case problem != "":
		c.render(w, r, v, http.StatusBadRequest, "events", msgTitleEvents, p, "", problem)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, v, http.StatusOK, "events", msgTitleEvents, p, "", "")
}

// eventRows turns a result page into table rows whose links start with
// prefix and carry the search (back) to return to.
func eventRows(events []store.StoredEvent, prefix, back string) []eventRow {
	rows := make([]eventRow, 0, len(events))
	for _, se := range events {
		e := se.Event
		tm := e.Value("time.source")
		if t, ok := e.Time("time.source"); ok {
			tm = t.UTC().Format("2006-01-02 15:04:05")
		}
		rows = append(rows, eventRow{
			URL:        prefix + se.Hash.String() + "?back=" + back,
			Time:       tm,
			Taxonomy:   e.Value("classification.taxonomy"),
			Type:       e.Value("classification.type"),
			SourceIP:   e.Value("source.ip"),
			SourcePort: e.Value("source.port"),
			SourceASN:  e.Value("source.asn"),
			SourceCC:   e.Value("source.geolocation.cc"),
			FQDN:       e.Value("source.fqdn"),
			Feed:       e.Value("feed.name"),
		})
	}
	return rows
}

func joinQuery(a, b string) string {
	if a == "" {
		return b
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
	Hash   string
	Stored time.Time
	Fields []event.Field
	// Raw is the source line decoded; RawHex is used instead when it is
	// not text.
	Raw     string
	RawHex  string
	HasRaw  bool
	BackURL string
	// ShowNotifications adds the notifications that reported the event,
	// for the team only (the portal's event page shares the template).
	ShowNotifications bool
	Notifications     []store.OutboxMessage
}

func (c *Console) eventDetail(w http.ResponseWriter, r *http.Request, v *visit) {
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
	p := eventDetailData(se)
	// The back link is rebuilt from the parsed search fields, so it can
	// only ever point at the search page.
	if back, err := url.ParseQuery(r.URL.Query().Get("back")); err == nil {
		_, form, _ := parseSearch(back)
		if qs := form.encode(); qs != "" {
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
	c.render(w, r, v, http.StatusOK, "event", msgTitleEvent, p, "", "")
}

// eventDetailData is the detail page of an event, its back link pointing
// at the analysts' search.
func eventDetailData(se store.StoredEvent) detailPage {
	p := detailPage{Hash: se.Hash.String(), Stored: se.Stored, BackURL: "/events"}
	for _, f := range se.Event.Fields() {
		if f.Key == "raw" {
			continue
		}
		p.Fields = append(p.Fields, f)
	}
	if raw := se.Event.Raw(); raw != nil {
		p.HasRaw = true
		if isText(raw) {
			p.Raw = string(raw)
		} else {
			p.RawHex = hex.Dump(raw)
		}
	}
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
			TLPs: []string{"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"}, Feeds: c.knownFeeds(r)}
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
