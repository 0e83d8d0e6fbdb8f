package console

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
)

// lookupEnv is a case environment whose constituency owns the phishing
// host (Bank X, by domain) and an address (an ISP, by network), with
// stored events naming both, and an incident opened from a report that
// names them and a phone number.
type lookupEnv struct {
	*caseEnv
	isp constituency.Organisation
	tag string
}

var lookupDay = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newLookupEnv(t *testing.T) *lookupEnv {
	t.Helper()
	env := &lookupEnv{caseEnv: newCaseEnv(t)}
	ctx := context.Background()
	env.org.Domains = []string{"evil-bank.be"}
	if err := env.store.UpdateOrganisation(ctx, &env.org); err != nil {
		t.Fatal(err)
	}
	env.isp = constituency.Organisation{Handle: "isp", Name: "ISP & Co", Language: "en",
		Networks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}
	if err := env.store.CreateOrganisation(ctx, &env.isp); err != nil {
		t.Fatal(err)
	}
	var events []*event.Event
	for i, f := range []map[string]string{
		{"source.ip": "198.51.100.7", "source.port": "1"},
		{"source.ip": "198.51.100.7", "source.port": "2"},
		{"source.fqdn": "login.evil-bank.be", "source.url": "https://login.evil-bank.be/verify"},
	} {
		e := event.New(8)
		f["time.source"] = event.FormatTime(lookupDay.Add(time.Duration(i) * 24 * time.Hour))
		f["feed.name"], f["classification.taxonomy"], f["classification.type"] = "test", "fraud", "phishing"
		for k, v := range f {
			if err := e.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		events = append(events, e)
	}
	if _, err := env.store.InsertEvents(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	rec := env.receive(incident.KindPhishing, "A fake bank at https://login.evil-bank.be/verify hosted on 198.51.100.7, they called from +32 2 555 12 34")
	env.tag = env.openIncident(env.analyst(), rec.ReportID)
	return env
}

// TestIncidentLookup: the incident's observables are a table of what
// Vigil knows (owner linked to its page, the events counted and linked
// to their search, first and last seen), the values defanged and never a
// link to them; an owner not concerned yet is added with one button,
// through the service (timeline and audit), and an organisation owning
// nothing of the incident is refused.
func TestIncidentLookup(t *testing.T) {
	env := newLookupEnv(t)
	b := env.analyst()
	body := b.get("/incidents/" + env.tag).body
	for _, want := range []string{
		`<table class="results" id="observables">`,
		`hxxps://login[.]evil-bank[.]be/verify`,
		`looked up as login.evil-bank.be`,
		`<a href="/constituency/` + strconv.FormatInt(env.org.ID, 10) + `">Bank X</a>`,
		`<a href="/constituency/` + strconv.FormatInt(env.isp.ID, 10) + `">ISP &amp; Co</a>`,
		`<a href="/events?ip=198.51.100.7">2 events</a>`,
		`<a href="/events?url=https%3A%2F%2Flogin.evil-bank.be%2Fverify">1 event</a>`,
		`198.51.100[.]7`,
		`not looked up`,
		`Add Bank X to the concerned organisations`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the incident's page lacks %q", want)
		}
	}
	if strings.Contains(body, `href="https://login.evil-bank.be`) || strings.Contains(body, `href="hxxps`) {
		t.Error("the page links to the phishing URL")
	}
	// Refused: an organisation that owns none of the observables.
	other := constituency.Organisation{Handle: "bystander", Name: "Bystander", Language: "en"}
	if err := env.store.CreateOrganisation(context.Background(), &other); err != nil {
		t.Fatal(err)
	}
	res := b.post("/incidents/"+env.tag+"/owners", url.Values{"org": {strconv.FormatInt(other.ID, 10)}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "owns none of this incident") {
		t.Errorf("adding a bystander: status %d", res.status)
	}
	// Accepted: the owner of the phishing host.
	res = b.post("/incidents/"+env.tag+"/owners", url.Values{"org": {strconv.FormatInt(env.org.ID, 10)}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("adding the owner: status %d, %.300s", res.status, res.body)
	}
	if inc := env.incident(env.tag); !slices.Equal(inc.OrgIDs, []int64{env.org.ID}) {
		t.Errorf("organisations concerned: %v, want [%d]", inc.OrgIDs, env.org.ID)
	}
	if !slices.ContainsFunc(env.timeline(env.tag), func(e incident.Entry) bool { return e.Kind == incident.EntryField }) {
		t.Error("no timeline line for the change")
	}
	audit, err := env.store.ListAudit(context.Background(), auth.AuditQuery{Actor: "analyst", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(audit, func(a auth.AuditEntry) bool { return a.Action == "incident.update" }) {
		t.Errorf("no audit entry for the change: %+v", audit)
	}
	body = b.get("/incidents/" + env.tag).body
	if strings.Contains(body, "Add Bank X") || !strings.Contains(body, "Add ISP &amp; Co") {
		t.Error("the suggestions do not follow the organisations concerned")
	}
}

// TestLookupTeamOnly: the lookups are the team's. A constituent (even
// of the owner) and a publisher get neither the incident's page nor the
// button, and the triage queue's owners only reach those who may read
// incidents.
func TestLookupTeamOnly(t *testing.T) {
	env := newLookupEnv(t)
	for _, who := range []string{"publisher", "constituent"} {
		b := env.browser()
		b.login(who, casePassword)
		if res := b.get("/incidents/" + env.tag); res.status != http.StatusForbidden || strings.Contains(res.body, "ISP &amp; Co") {
			t.Errorf("%s GET the incident: status %d", who, res.status)
		}
		res := b.post("/incidents/"+env.tag+"/owners", url.Values{"org": {strconv.FormatInt(env.org.ID, 10)}})
		if res.status != http.StatusForbidden || len(env.incident(env.tag).OrgIDs) != 0 {
			t.Errorf("%s added an owner: status %d", who, res.status)
		}
	}
}

// TestReportOwners: the triage queue shows the owners of a report's
// observables, linked to their pages.
func TestReportOwners(t *testing.T) {
	env := newLookupEnv(t)
	env.receive(incident.KindPhishing, "another report about http://www.evil-bank.be/ and nothing else")
	env.receive(incident.KindOther, "a report naming nobody's host: unowned.example")
	body := env.analyst().get("/reports").body
	if got := strings.Count(body, `class="hint report-owners"`); got != 1 {
		t.Errorf("%d reports with owners, want 1", got)
	}
	if !strings.Contains(body, `Owner: <a href="/constituency/`+strconv.FormatInt(env.org.ID, 10)+`">Bank X</a>`) {
		t.Error("the queue does not show the owner")
	}
}

// failingEvents is the console's store whose event searches fail.
type failingEvents struct{ Store }

func (failingEvents) SearchEvents(context.Context, store.EventQuery) (store.EventPage, error) {
	return store.EventPage{}, errors.New("the event store is down")
}

func (failingEvents) CountMatches(context.Context, store.EventQuery, int) (int, error) {
	return 0, errors.New("the event store is down")
}

// TestIncidentLookupFails: when the events cannot be searched, the
// incident's page still shows, its observables listed and the failure
// said.
func TestIncidentLookupFails(t *testing.T) {
	env := &caseEnv{testEnv: newEnv(t, func(c *Config) { c.Store = failingEvents{c.Store} })}
	env.addUser("analyst", auth.RoleAnalyst, casePassword)
	rec := env.receive(incident.KindPhishing, "see https://evil-bank.be/login")
	rec = env.receive(incident.KindPhishing, "again https://evil-bank.be/login")
	if !rec.Opened {
		t.Fatalf("not grouped: %+v", rec)
	}
	res := env.analyst().get("/incidents/" + rec.Tag.String())
	if res.status != http.StatusOK || !strings.Contains(res.body, `id="lookup-failed"`) || !strings.Contains(res.body, "hxxps://evil-bank[.]be/login") {
		t.Errorf("status %d, body %.2000s", res.status, res.body)
	}
}
