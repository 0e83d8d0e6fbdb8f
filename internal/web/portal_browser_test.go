package web

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestBrowserConstituentPortal logs a constituent in through the login form
// in headless Chromium and checks that the portal lists its organisation's
// events and nothing else, searching included, and that another
// organisation's event cannot be opened.
func TestBrowserConstituentPortal(t *testing.T) {
	st := openStore(t)
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
	foreign := testEvent(t, "", "time.source", "2025-03-01T12:00:00Z", "feed.name", "abusech-feodo",
		"classification.taxonomy", "malicious-code", "classification.type", "c2-server",
		"source.ip", "198.51.100.7", "source.port", "443")
	foreign.SetTrusted(store.ConstituencyField, `["uni-b"]`)
	nobody := testEvent(t, "", "time.source", "2025-03-01T13:00:00Z", "feed.name", "abusech-feodo",
		"classification.taxonomy", "malicious-code", "classification.type", "c2-server",
		"source.ip", "203.0.113.7", "source.port", "443")
	if _, err := st.InsertEvents(ctx, []*event.Event{own, ownToo, foreign, nobody}, nil); err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Console: consoleConfig(t, st, "test")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	tctx := startChromium(t, srv.URL+"/")
	err = chromedp.Do(tctx,
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "carla"),
		chromedp.SendKeys(chromedp.ID("password"), "carla's long passphrase"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	if err != nil {
		t.Fatalf("log in: %v", err)
	}
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

	// A search over everything still stays inside the organisation.
	err = chromedp.Do(tctx,
		chromedp.SendKeys(chromedp.ID("cidr"), "0.0.0.0/0"),
		chromedp.Click(chromedp.ID("search")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	if err != nil {
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

	// Another organisation's event, by its address: the same answer as a
	// page that does not exist.
	err = chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/portal/events/"+foreign.Hash().String()), chromedp.WaitVisible(chromedp.CSS("h1")))
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
		if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+page.path), chromedp.WaitVisible(chromedp.CSS(page.ready))); err != nil {
			t.Fatalf("%s: %v", page.path, err)
		}
		screenshot(t, tctx, page.name)
	}

	// The table's grouping counts the organisation's events only: the
	// other organisation's c2-server event is in no group.
	err = chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/portal/?group=type&sort=source.ip"), chromedp.WaitVisible(chromedp.ID("groups")))
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
