package web

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
)

// TestBrowserOrganisationPage opens an organisation in headless Chromium:
// it reads as a record, whose long values are shown whole and stay inside
// the page, with links to its events and its notifications and the form
// one button away; "who owns this?" names the lab and the research
// network around it; disabling an account asks first.
func TestBrowserOrganisationPage(t *testing.T) {
	st := openStore(t)
	lab, notes, longDomain := seedLab(t, st)
	addUser(t, st, "admin", auth.RoleAdmin, "the admin's long passphrase")
	addUser(t, st, "ana", auth.RoleAnalyst, "the analyst's long passphrase")
	srv := serveConsole(t, consoleConfig(t, st, "test"))

	// The console sends the browser to the login form and back.
	tctx := startChromium(t, fmt.Sprintf("%s/constituency/%d", srv.URL, lab.ID))
	logIn(t, tctx, "admin", "the admin's long passphrase", "org-view")
	s := &organisationSteps{ctx: tctx, base: srv.URL, st: st, lab: lab, notes: notes, longDomain: longDomain}
	runSteps(t,
		browserStep{"the record", s.record},
		browserStep{"its events and its form", s.eventsAndForm},
		browserStep{"who owns this", s.whoOwns},
		browserStep{"disabling an account asks first", s.disableAsksFirst},
	)
}

// organisationSteps is what the steps of TestBrowserOrganisationPage
// share: the logged-in browser, the console's address, the database, and
// the lab with its long values.
type organisationSteps struct {
	ctx        context.Context
	base       string
	st         *database.DB
	lab        constituency.Organisation
	notes      string
	longDomain string
}

// seedLab stores the research network and the lab inside it, with long
// notes, a long domain and a queued notification for the lab; it returns
// the lab, its notes and its domain.
func seedLab(t *testing.T, st *database.DB) (lab constituency.Organisation, notes, longDomain string) {
	t.Helper()
	ctx := context.Background()
	research := constituency.Organisation{Handle: "research", Name: "Research Network", Language: "en",
		Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, ASNs: []uint32{64500}}
	longDomain = "quantum-computing-and-cryogenic-measurement-laboratory.physics.faculty-of-sciences.example.org"
	notes = "Escalate to the physics department's on-call line first.\nTicket archive: https://tickets.example.org/" +
		strings.Repeat("a1b2c3d4", 30) + "\nThird line."
	lab = constituency.Organisation{Handle: "lab", Name: "Quantum Lab of the Research Network, Department of Physics and Astronomy",
		Sector: "research", Country: "BE", Language: "fr", Notes: notes,
		Networks: []netip.Prefix{netip.MustParsePrefix("10.1.2.0/24"), netip.MustParsePrefix("2001:db8:1234:5678::/64")},
		Domains:  []string{longDomain},
		Contacts: []constituency.Contact{
			{Name: "Lab CERT", Email: "cert-team-with-a-rather-long-mailbox-name@" + longDomain, Role: constituency.ContactAbuse, Notify: true},
			{Name: "Head of the lab", Email: "head@lab.example.org", Role: constituency.ContactManagement},
		}}
	for _, o := range []*constituency.Organisation{&research, &lab} {
		if err := st.CreateOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	if err := st.CommitNotifications(ctx, &notify.NotificationCommit{Messages: []outbox.Message{{
		OrgID: lab.ID, Org: lab.Handle, Kind: "digest", Sender: "cert@cert.example", Recipients: []string{"cert@lab.example.org"},
		Subject: "[CERT] 3 vulnerable systems in your network", MessageID: "1.lab@cert.example", Body: []byte("x"), Events: 3,
		Status: outbox.MessageQueued, NextAttempt: now, Created: now}}}); err != nil {
		t.Fatal(err)
	}
	return lab, notes, longDomain
}

// record reads the organisation's page as a record: no form, the long
// values whole and inside their boxes, and its notifications.
func (s *organisationSteps) record(t *testing.T) {
	tctx := s.ctx
	screenshot(t, tctx, "organisation-view")
	forms := run(t, tctx, chromedp.Nodes(chromedp.ID("organisation-form"), chromedp.AtLeast(0)))
	if len(forms) != 0 {
		t.Error("the organisation's page opens as a form")
	}
	if got := run(t, tctx, chromedp.Text(chromedp.ID("view-notes"))); got != s.notes {
		t.Errorf("notes shown as %q, want them whole", got)
	}
	if got := run(t, tctx, chromedp.Text(chromedp.ID("view-domains"))); strings.TrimSpace(got) != s.longDomain {
		t.Errorf("domains shown as %q", got)
	}
	// Nothing is cut off: no value of the record is wider than its box,
	// and the page does not scroll sideways.
	overflowing := run(t, tctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#org-view dd, #view-contacts td"))
		.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.id || e.textContent.slice(0, 40))`))
	if len(overflowing) != 0 {
		t.Errorf("values cut off or overflowing: %q", overflowing)
	}
	if run(t, tctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)) {
		t.Error("the page scrolls sideways")
	}
	if text := run(t, tctx, chromedp.Text(chromedp.ID("messages"))); !strings.Contains(text, "3 vulnerable systems") {
		t.Errorf("its notifications: %q", text)
	}
}

// eventsAndForm follows the link to its events, then opens the form on
// demand.
func (s *organisationSteps) eventsAndForm(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("org-events")), chromedp.WaitVisible(chromedp.ID("org")))
	if err != nil {
		t.Fatalf("events link: %v", err)
	}
	if loc := run(t, tctx, chromedp.Location()); !strings.HasSuffix(loc, "/events?org=lab") {
		t.Errorf("the events link leads to %s", loc)
	}
	if v := run(t, tctx, chromedp.Value(chromedp.ID("org"))); v != "lab" {
		t.Errorf("the events search has org %q", v)
	}
	err = chromedp.Do(tctx,
		chromedp.Navigate(fmt.Sprintf("%s/constituency/%d", s.base, s.lab.ID)),
		chromedp.WaitVisible(chromedp.ID("edit")),
		chromedp.Click(chromedp.ID("edit")),
		chromedp.WaitVisible(chromedp.ID("organisation-form")),
	)
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if v := run(t, tctx, chromedp.Value(chromedp.ID("notes"))); v != s.notes {
		t.Errorf("the form's notes %q", v)
	}
	screenshot(t, tctx, "organisation-edit")
}

// whoOwns asks who owns 10.1.2.3: the lab, then the research network
// around it.
func (s *organisationSteps) whoOwns(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx, chromedp.Navigate(s.base+"/constituency?lookup=10.1.2.3"), chromedp.WaitVisible(chromedp.ID("lookup-result")))
	if err != nil {
		t.Fatal(err)
	}
	rows := run(t, tctx, chromedp.Nodes(chromedp.CSSAll("#lookup-result tbody tr")))
	text := run(t, tctx, chromedp.Text(chromedp.ID("lookup-result")))
	if len(rows) != 2 || strings.Index(text, "Quantum Lab") > strings.Index(text, "Research Network") {
		t.Errorf("who owns 10.1.2.3: %d rows %q, want the lab then the research network", len(rows), text)
	}
	screenshot(t, tctx, "who-owns")
}

// disableAsksFirst checks that disabling an account shows its
// confirmation before the button that does it.
func (s *organisationSteps) disableAsksFirst(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx, chromedp.Navigate(s.base+"/users"), chromedp.WaitVisible(chromedp.ID("users")))
	if err != nil {
		t.Fatal(err)
	}
	confirm := `details.user-disable button.danger`
	if visible := run(t, tctx, chromedp.Nodes(chromedp.CSS(confirm+":not([hidden])"), chromedp.AtLeast(0))); len(visible) == 0 {
		t.Fatal("no danger button inside the disable confirmation")
	}
	check := `(() => { const b = document.querySelector("` + confirm + `"); return b.checkVisibility(); })()`
	if run(t, tctx, chromedp.Evaluate[bool](check)) {
		t.Fatal("the disable button shows before the confirmation opens")
	}
	err = chromedp.Do(tctx, chromedp.Click(chromedp.CSS("details.user-disable summary")), chromedp.WaitVisible(chromedp.CSS(confirm)))
	if err != nil {
		t.Fatalf("open the confirmation: %v", err)
	}
	screenshot(t, tctx, "users-disable-confirm")
	if u, err := s.st.GetUserByName(context.Background(), "ana"); err != nil || u.Disabled {
		t.Fatalf("opening the confirmation disabled the account: %+v %v", u, err)
	}
}
