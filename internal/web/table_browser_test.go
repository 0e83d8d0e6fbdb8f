package web

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// texts returns the text of every element sel matches, in page order.
func texts(t *testing.T, ctx context.Context, sel string) []string {
	t.Helper()
	return run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(`+"`"+sel+"`"+`)).map(e => e.textContent.trim())`))
}

// waitLocation waits until the browser's address holds part.
func waitLocation(t *testing.T, ctx context.Context, part string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.Contains(loc, part) {
			if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("footer"))); err == nil {
				return loc
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page with %q did not load (last address %q, %v)", part, loc, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserEventTable drives the events table as an analyst would:
// sort by a heading and back, group by feed, follow a group and a value
// link, choose columns, and read the grouped event page.
func TestBrowserEventTable(t *testing.T) {
	st := openStore(t)
	addUser(t, st, "alice", auth.RoleAnalyst, "alice's long passphrase")
	seedTableEvents(t, st)
	srv := serveConsole(t, consoleConfig(t, st, "test"))

	tctx := startChromium(t, srv.URL+"/events")
	logIn(t, tctx, "alice", "alice's long passphrase", "results")
	if count := run(t, tctx, chromedp.Text(chromedp.ID("count"))); !strings.HasPrefix(count, "5 events match") {
		t.Errorf("count %q", count)
	}
	s := &eventTableSteps{ctx: tctx, base: srv.URL}
	runSteps(t,
		browserStep{"sort by source IP and back", s.sortBySourceIP},
		browserStep{"group by feed and follow a group", s.groupByFeed},
		browserStep{"a value leads to its search", s.valueLink},
		browserStep{"choose the organisation column", s.chooseColumns},
		browserStep{"the grouped event page", s.eventPage},
	)
}

// seedTableEvents stores the five events of TestBrowserEventTable, one a
// minute from 10:00, each with its raw CSV line under a header.
func seedTableEvents(t *testing.T, st *database.DB) {
	t.Helper()
	rows := [][]string{
		{"shadowserver-scan-http", "192.0.2.10", "64496", "vulnerable-system", `["univ-a"]`},
		{"abusech-feodo", "10.0.0.5", "64497", "c2-server", ""},
		{"shadowserver-scan-http", "198.51.100.7", "64496", "vulnerable-system", `["univ-b"]`},
		{"abusech-feodo", "2001:db8::7", "64498", "c2-server", `["univ-a"]`},
		{"shadowserver-scan-http", "192.0.2.9", "64496", "vulnerable-system", ""},
	}
	var events []*event.Event
	for i, r := range rows {
		e := testEvent(t, "timestamp,ip,port,tag\n"+`"2025-03-01 10:00:00","`+r[1]+`","80","http"`,
			"time.source", event.FormatTime(time.Date(2025, 3, 1, 10, i, 0, 0, time.UTC)), "feed.name", r[0],
			"classification.type", r[3], "source.ip", r[1], "source.asn", r[2], "extra.tag", `"http"`)
		if r[4] != "" {
			e.SetTrusted(store.ConstituencyField, r[4])
		}
		events = append(events, e)
	}
	insertEvents(t, st, events...)
}

// eventTableSteps is what the steps of TestBrowserEventTable share: the
// logged-in browser and the console's address.
type eventTableSteps struct {
	ctx  context.Context
	base string
}

// sortBySourceIP sorts by source IP: the heading sorts largest first, and
// a second click smallest first, IPv4 before IPv6.
func (s *eventTableSteps) sortBySourceIP(t *testing.T) {
	tctx := s.ctx
	sortBy := `#results th a.sort[href*="sort=source.ip"]`
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(sortBy))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, tctx, "sort=source.ip")
	if got, want := texts(t, tctx, `td[data-field="source.ip"]`), []string{"2001:db8::7", "198.51.100.7", "192.0.2.10", "192.0.2.9", "10.0.0.5"}; !slices.Equal(got, want) {
		t.Errorf("largest first: %v, want %v", got, want)
	}
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(sortBy))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, tctx, "dir=asc")
	if got, want := texts(t, tctx, `td[data-field="source.ip"]`), []string{"10.0.0.5", "192.0.2.9", "192.0.2.10", "198.51.100.7", "2001:db8::7"}; !slices.Equal(got, want) {
		t.Errorf("smallest first: %v, want %v", got, want)
	}
	screenshot(t, tctx, "events-sorted")
}

// groupByFeed groups by feed, then follows the largest group.
func (s *eventTableSteps) groupByFeed(t *testing.T) {
	tctx := s.ctx
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("group-feed")), chromedp.WaitVisible(chromedp.ID("groups"))); err != nil {
		t.Fatalf("group by feed: %v", err)
	}
	waitLocation(t, tctx, "group=feed")
	if got, want := texts(t, tctx, "#groups tbody td"), []string{"shadowserver-scan-http", "3", "abusech-feodo", "2"}; !slices.Equal(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
	screenshot(t, tctx, "events-grouped")
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#groups a.group-link"))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, tctx, "feed=shadowserver-scan-http")
	if got := texts(t, tctx, `td[data-field="source.ip"]`); len(got) != 3 {
		t.Errorf("the group's search lists %v", got)
	}
}

// valueLink follows a value in the table, a link to its own search.
func (s *eventTableSteps) valueLink(t *testing.T) {
	tctx := s.ctx
	if err := chromedp.Do(tctx, chromedp.Navigate(s.base+"/events"), chromedp.WaitVisible(chromedp.ID("results")),
		chromedp.Click(chromedp.CSS(`td[data-field="source.asn"] a.value-link`))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, tctx, "asn=64496")
	if got := texts(t, tctx, `td[data-field="source.asn"]`); !slices.Equal(got, []string{"64496", "64496", "64496"}) {
		t.Errorf("the ASN's search lists %v", got)
	}
}

// chooseColumns chooses the organisation column; it is kept for the next
// visit.
func (s *eventTableSteps) chooseColumns(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
		chromedp.Navigate(s.base+"/events"),
		chromedp.WaitVisible(chromedp.ID("results")),
		chromedp.Click(chromedp.CSS("#columns summary")),
		chromedp.Click(chromedp.CSS(`#columns input[value="extra.constituency"]`)),
		chromedp.Click(chromedp.ID("columns-save")),
	)
	if err != nil {
		t.Fatalf("choose columns: %v", err)
	}
	// The form returns to the list, which now has the column.
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS(`td[data-field="extra.constituency"]`))); err != nil {
		t.Fatal(err)
	}
	if got := texts(t, tctx, `td[data-field="extra.constituency"]`); !slices.Equal(got, []string{"", "univ-a", "univ-b", "", "univ-a"}) {
		t.Errorf("organisation column %v", got)
	}
	screenshot(t, tctx, "events-columns")
}

// eventPage reads the event page: grouped, the extra value without
// quotes, the raw line under its header's column names, and a value that
// leads to its search.
func (s *eventTableSteps) eventPage(t *testing.T) {
	tctx := s.ctx
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#results tbody tr:nth-child(2) a.event-link")), chromedp.WaitVisible(chromedp.ID("fields"))); err != nil {
		t.Fatal(err)
	}
	if got := texts(t, tctx, "#fields h2"); !slices.Equal(got, []string{"Classification", "Source", "Feed", "Extra fields of the feed", "Time"}) {
		t.Errorf("sections %v", got)
	}
	if got := run(t, tctx, chromedp.Text(chromedp.CSS(`td[data-field="extra.tag"]`))); got != "http" {
		t.Errorf("extra.tag shown as %q", got)
	}
	if got := texts(t, tctx, "#raw-cells td"); len(got) != 4 || got[1] != "2001:db8::7" {
		t.Errorf("raw cells %v", got)
	}
	if got := texts(t, tctx, "#raw-cells tbody th"); !slices.Equal(got, []string{"timestamp", "ip", "port", "tag"}) {
		t.Errorf("raw cells named %v, want the header's columns", got)
	}
	screenshot(t, tctx, "event-sections")
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(`td[data-field="feed.name"] a.value-link`))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, tctx, "feed=abusech-feodo")
	if got := texts(t, tctx, `td[data-field="source.ip"]`); len(got) != 2 {
		t.Errorf("the feed's search lists %v", got)
	}
}
