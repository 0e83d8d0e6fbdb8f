package web

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/event"
)

// TestBrowserSavedSearches: an analyst saves the search of the page and
// shares it, opens it again with one click and renames it; a colleague
// reading the console in Dutch finds it among the team's searches and
// opens it, the table's times written the Dutch way.
func TestBrowserSavedSearches(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	addUser(t, st, "alice", auth.RoleAnalyst, "alice's long passphrase")
	bruno, err := auth.NewUser("bruno", "bruno@cert.example", auth.RoleAnalyst, "bruno's long passphrase", "nl")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &bruno); err != nil {
		t.Fatal(err)
	}
	var events []*event.Event
	for i, r := range [][]string{
		{"abusech-feodo", "10.0.0.5", "c2-server"},
		{"shadowserver-scan-http", "192.0.2.10", "vulnerable-system"},
		{"abusech-feodo", "10.0.0.6", "c2-server"},
	} {
		events = append(events, testEvent(t, "", "time.source", event.FormatTime(time.Date(2025, 3, 1, 10, i, 0, 0, time.UTC)),
			"feed.name", r[0], "source.ip", r[1], "classification.type", r[2]))
	}
	insertEvents(t, st, events...)
	srv := serveConsole(t, consoleConfig(t, st, "test"))

	tctx := startChromium(t, srv.URL+"/events?type=c2-server&sort=source.ip")
	logIn(t, tctx, "alice", "alice's long passphrase", "results")
	s := &savedSearchSteps{ctx: tctx, base: srv.URL}
	runSteps(t,
		browserStep{"save and share", s.saveAndShare},
		browserStep{"open with one click", s.open},
		browserStep{"rename", s.rename},
		browserStep{"a colleague in Dutch opens it", s.colleagueInDutch},
	)
}

// savedSearchSteps is what the steps of TestBrowserSavedSearches share:
// the browser, logged in as alice, and the console's address.
type savedSearchSteps struct {
	ctx  context.Context
	base string
}

// saveAndShare saves the search of the page, shared with the team.
func (s *savedSearchSteps) saveAndShare(t *testing.T) {
	tctx := s.ctx
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.ID("saved-none"))); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(tctx,
		chromedp.SendKeys(chromedp.ID("saved-name"), "C2 servers"),
		chromedp.Click(chromedp.ID("saved-shared")),
		chromedp.Click(chromedp.ID("saved-save")),
	)
	if err != nil {
		t.Fatalf("save: %v", err)
	}
	waitLocation(t, tctx, "done=saved")
	if got := texts(t, tctx, "#saved-own a.saved-link"); !slices.Equal(got, []string{"C2 servers"}) {
		t.Fatalf("own saved searches %v", got)
	}
	screenshot(t, tctx, "events-saved-en")
}

// open opens the saved search with one click from the plain list.
func (s *savedSearchSteps) open(t *testing.T) {
	tctx := s.ctx
	if err := chromedp.Do(tctx, chromedp.Navigate(s.base+"/events"), chromedp.WaitVisible(chromedp.ID("results")),
		chromedp.Click(chromedp.CSS("#saved-own a.saved-link"))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, tctx, "type=c2-server")
	if got := texts(t, tctx, `td[data-field="source.ip"]`); !slices.Equal(got, []string{"10.0.0.6", "10.0.0.5"}) {
		t.Errorf("the opened search lists %v", got)
	}
}

// rename renames the saved search from its small form.
func (s *savedSearchSteps) rename(t *testing.T) {
	tctx := s.ctx
	nameField := `#saved-own details.saved-edit input[name="name"]`
	err := chromedp.Do(tctx,
		chromedp.Click(chromedp.CSS("#saved-own details.saved-edit summary")),
		chromedp.WaitVisible(chromedp.CSS(nameField)),
		chromedp.Clear(chromedp.CSS(nameField)),
		chromedp.SendKeys(chromedp.CSS(nameField), "Feodo C2"),
		chromedp.Click(chromedp.CSS(`#saved-own details.saved-edit button[type="submit"]`)),
	)
	if err != nil {
		t.Fatalf("rename: %v", err)
	}
	waitLocation(t, tctx, "done=saved-changed")
	if got := texts(t, tctx, "#saved-own a.saved-link"); !slices.Equal(got, []string{"Feodo C2"}) {
		t.Fatalf("after the rename %v", got)
	}
}

// colleagueInDutch logs alice out and bruno in: reading the console in
// Dutch, he finds the search among the team's and opens it.
func (s *savedSearchSteps) colleagueInDutch(t *testing.T) {
	tctx := s.ctx
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, tctx, "/login")
	if err := chromedp.Do(tctx, chromedp.Navigate(s.base+"/events")); err != nil {
		t.Fatal(err)
	}
	logIn(t, tctx, "bruno", "bruno's long passphrase", "results")
	if got := texts(t, tctx, "#saved-team a.saved-link"); !slices.Equal(got, []string{"Feodo C2"}) {
		t.Fatalf("the team's saved searches %v", got)
	}
	if got := texts(t, tctx, "#saved-team .hint"); len(got) != 1 || got[0] != "door alice" {
		t.Errorf("owner shown as %v", got)
	}
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#saved-team a.saved-link"))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, tctx, "type=c2-server")
	if got := texts(t, tctx, "#results a.event-link"); !slices.Equal(got, []string{"01-03-2025 10:02:00", "01-03-2025 10:00:00"}) {
		t.Errorf("times in Dutch %v", got)
	}
	if heading := run(t, tctx, chromedp.Text(chromedp.ID("saved-heading"))); !strings.Contains(heading, "Bewaarde zoekopdrachten") {
		t.Errorf("heading %q", heading)
	}
	screenshot(t, tctx, "events-saved-nl")
}
