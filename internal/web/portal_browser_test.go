package web

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestBrowserConstituentPortal logs a constituent in through the login form
// in headless Chromium and checks that the portal lists its organisation's
// events and nothing else, searching included, and that another
// organisation's event cannot be opened.
func TestBrowserConstituentPortal(t *testing.T) {
	st := openStore(t)
	foreign := seedPortal(t, st)
	srv := serveConsole(t, consoleConfig(t, st, "test"))

	tctx := startChromium(t, srv.URL+"/")
	logIn(t, tctx, "carla", "carla's long passphrase", "results")
	s := &portalSteps{ctx: tctx, base: srv.URL, foreign: foreign.Hash().String()}
	runSteps(t,
		browserStep{"the portal lists its organisation's events", s.events},
		browserStep{"a search stays inside the organisation", s.search},
		browserStep{"another organisation's event", s.foreignEvent},
		browserStep{"the grouping counts its events only", s.grouping},
	)
}

// seedPortal stores two universities, the constituent carla of University
// A, and four events: two of A (one shared with B), one of B only and one
// of nobody. It returns B's event.
func seedPortal(t *testing.T, st *database.DB) (foreign *event.Event) {
	t.Helper()
	ctx := context.Background()
	orgs := map[string]*constituency.Organisation{
		"uni-a": {Handle: "uni-a", Name: "University A", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}},
		"uni-b": {Handle: "uni-b", Name: "University B", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
	}
	for _, o := range orgs {
		if err := st.CreateOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	u := addUser(t, st, "carla", auth.RoleConstituent, "carla's long passphrase")
	u.OrgID = orgs["uni-a"].ID
	if err := st.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	own := testEvent(t, "", "time.source", "2025-03-01T10:00:00Z", "feed.name", "shadowserver-scan-rdp",
		"classification.taxonomy", "vulnerable", "classification.type", "vulnerable-system",
		"source.ip", "192.0.2.10", "source.port", "3389")
	own.SetTrusted(store.ConstituencyField, `["uni-a"]`)
	ownToo := testEvent(t, "", "time.source", "2025-03-01T11:00:00Z", "feed.name", "abusech-feodo",
		"classification.taxonomy", "malicious-code", "classification.type", "infected-system",
		"source.ip", "192.0.2.77", "destination.ip", "198.51.100.9")
	ownToo.SetTrusted(store.ConstituencyField, `["uni-a","uni-b"]`)
	foreign = testEvent(t, "", "time.source", "2025-03-01T12:00:00Z", "feed.name", "abusech-feodo",
		"classification.taxonomy", "malicious-code", "classification.type", "c2-server",
		"source.ip", "198.51.100.7", "source.port", "443")
	foreign.SetTrusted(store.ConstituencyField, `["uni-b"]`)
	nobody := testEvent(t, "", "time.source", "2025-03-01T13:00:00Z", "feed.name", "abusech-feodo",
		"classification.taxonomy", "malicious-code", "classification.type", "c2-server",
		"source.ip", "203.0.113.7", "source.port", "443")
	insertEvents(t, st, own, ownToo, foreign, nobody)
	return foreign
}

// portalSteps is what the steps of TestBrowserConstituentPortal share:
// the browser logged in as carla, the console's address, and the hash of
// the other organisation's event.
type portalSteps struct {
	ctx     context.Context
	base    string
	foreign string
}

// events checks that the login led to the portal, which lists the two
// events of University A and no other.
func (s *portalSteps) events(t *testing.T) {
	tctx := s.ctx
	location := run(t, tctx, chromedp.Location())
	rows := run(t, tctx, chromedp.Nodes(chromedp.CSSAll("#results tbody tr")))
	text := run(t, tctx, chromedp.Text(chromedp.ID("results")))
	screenshot(t, tctx, "portal-events")
	if !strings.HasSuffix(location, "/portal/") {
		t.Errorf("after login the constituent is at %s, want the portal", location)
	}
	if len(rows) != 2 || !strings.Contains(text, "192.0.2.10") || !strings.Contains(text, "192.0.2.77") {
		t.Fatalf("portal lists %d rows: %q; want the two events of University A", len(rows), text)
	}
	if strings.Contains(text, "198.51.100.7") || strings.Contains(text, "203.0.113.7") {
		t.Fatalf("portal lists another organisation's event: %q", text)
	}
}

// search searches over everything, which still stays inside the
// organisation, and opens an event found.
func (s *portalSteps) search(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
		chromedp.SendKeys(chromedp.ID("cidr"), "0.0.0.0/0"),
		chromedp.Click(chromedp.ID("search")),
	)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	// The portal's first page has results too: wait for the search's own
	// page before reading its rows, or a click may land on the old page.
	for !strings.Contains(run(t, tctx, chromedp.Location()), "cidr=") {
		time.Sleep(20 * time.Millisecond)
	}
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.ID("results"))); err != nil {
		t.Fatalf("search: %v", err)
	}
	if rows := run(t, tctx, chromedp.Nodes(chromedp.CSSAll("#results tbody tr"))); len(rows) != 2 {
		t.Fatalf("search 0.0.0.0/0 lists %d rows, want 2", len(rows))
	}
	err = chromedp.Do(tctx,
		chromedp.Click(chromedp.CSS("#results tbody tr:nth-child(2) a.event-link")),
		chromedp.WaitVisible(chromedp.ID("fields")),
	)
	if err != nil {
		t.Fatalf("open event: %v", err)
	}
	if ip := run(t, tctx, chromedp.Text(chromedp.CSS(`td[data-field="source.ip"]`))); ip != "192.0.2.10" {
		t.Errorf("event page shows source.ip %q", ip)
	}
	screenshot(t, tctx, "portal-event")
}

// foreignEvent opens another organisation's event by its address: the
// same answer as a page that does not exist. The portal's other pages
// follow, for the screenshots.
func (s *portalSteps) foreignEvent(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx, chromedp.Navigate(s.base+"/portal/events/"+s.foreign), chromedp.WaitVisible(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	if body := run(t, tctx, chromedp.Text(chromedp.CSS("main"))); strings.Contains(body, "198.51.100.7") {
		t.Fatalf("foreign event shown: %q", body)
	}
	for _, page := range []struct{ path, name, ready string }{
		{"/portal/organisation", "portal-organisation", "#org-name"},
		{"/portal/notifications", "portal-notifications", "#nomessages"},
	} {
		if err := chromedp.Do(tctx, chromedp.Navigate(s.base+page.path), chromedp.WaitVisible(chromedp.CSS(page.ready))); err != nil {
			t.Fatalf("%s: %v", page.path, err)
		}
		screenshot(t, tctx, page.name)
	}
}

// grouping checks that the table's grouping counts the organisation's
// events only: the other organisation's c2-server event is in no group.
func (s *portalSteps) grouping(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx, chromedp.Navigate(s.base+"/portal/?group=type&sort=source.ip"), chromedp.WaitVisible(chromedp.ID("groups")))
	if err != nil {
		t.Fatal(err)
	}
	groups := run(t, tctx, chromedp.Text(chromedp.ID("groups")))
	screenshot(t, tctx, "portal-grouped")
	if !strings.Contains(groups, "infected-system") || !strings.Contains(groups, "vulnerable-system") || strings.Contains(groups, "c2-server") {
		t.Errorf("the portal's groups: %q", groups)
	}
	if count := run(t, tctx, chromedp.Text(chromedp.ID("count"))); !strings.HasPrefix(count, "2 events match") {
		t.Errorf("the portal's count: %q", count)
	}
}
