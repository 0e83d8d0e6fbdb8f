package console

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

var portalTracking = regexp.MustCompile(`id="tracking" class="mono">(R-\d{4}-\d+)<`)

// portalReport sends the portal's report form as ca or cb and returns the
// tracking number it answers with.
func portalReport(t *testing.T, b *browser, fields map[string]string, files ...reportFile) string {
	t.Helper()
	b.get("/portal/reports/new")
	res := b.postReport("/portal/reports/new", fields, files...)
	m := portalTracking.FindStringSubmatch(res.body)
	if res.status != http.StatusOK || m == nil {
		t.Fatalf("portal report: %d\n%.2000s", res.status, res.body)
	}
	return m[1]
}

// portalCase is a portal environment with incidents: what uni-a may see
// and what it may not.
type portalCase struct {
	*portalEnv
	concerns, others, reported, red, redReported incident.Incident
	ownReported, ownRed                          string // uni-a's reports' tracking numbers
	bReport                                      string // uni-b's report on the incident that concerns A
}

func newPortalCase(t *testing.T) *portalCase {
	t.Helper()
	env := &portalCase{portalEnv: newPortalEnv(t)}
	ctx := context.Background()
	svc := env.console.cases()
	team := incident.Actor{Name: "analyst"}
	a, b := env.orgs["uni-a"].ID, env.orgs["uni-b"].ID
	mk := func(title string, tlp incident.TLP, orgs ...int64) incident.Incident {
		t.Helper()
		inc, err := svc.CreateIncident(ctx, team, incident.Incident{Title: title, Kind: incident.KindPhishing, TLP: tlp,
			PAP: incident.PAPRed, Impact: "IMPACT-WITHHELD", OrgIDs: orgs}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	env.concerns = mk("Phishing kit on A's web server", incident.TLPAmber, a, b)
	env.others = mk("SECRET-OF-B botnet", incident.TLPGreen, b)
	env.reported = mk("Fake login page reported by A", incident.TLPAmber, b)
	env.red = mk("RED-MATTER at A", incident.TLPRed, a)
	env.redReported = mk("RED-REPORTED ransomware", incident.TLPRed, b)
	zoe := env.addUser("handler-zoe", auth.RoleAnalyst, "zoe's passphrase")
	if _, err := svc.Assign(ctx, team, env.concerns.ID, zoe.ID, zoe.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddNote(ctx, team, env.concerns.ID, "INTERNAL-NOTE: the admin password was admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transition(ctx, team, env.concerns.ID, incident.StatusResolved, "Kit removed, server cleaned"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transition(ctx, team, env.reported.ID, incident.StatusWaiting, "WAITING-REASON: asked CERT-X"); err != nil {
		t.Fatal(err)
	}
	receive := func(r incident.Report, to int64) string {
		t.Helper()
		got, err := svc.Receive(ctx, &r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LinkReports(ctx, team, to, []int64{got.ReportID}); err != nil {
			t.Fatal(err)
		}
		return got.Tracking
	}
	own := incident.Report{Channel: incident.ChannelPortal, Kind: incident.KindFakeWebsite, Subject: "A's report",
		Text: "A fake login page", Reporter: incident.Reporter{Name: "ca", Email: "ca@a.example", OrgID: a}}
	env.ownReported = receive(own, env.reported.ID)
	own.Subject = "A's report on a red incident"
	env.ownRed = receive(own, env.redReported.ID)
	env.bReport = receive(incident.Report{Channel: incident.ChannelEmail, Kind: incident.KindPhishing, Subject: "B-SUBJECT",
		Text: "B's text", Reporter: incident.Reporter{Name: "B-REPORTER", Email: "reporter@b.example", OrgID: b}}, env.concerns.ID)
	return env
}

// withheld are strings of the incidents that uni-a must never be shown.
var withheld = []string{"IMPACT-WITHHELD", "handler-zoe", "INTERNAL-NOTE", "WAITING-REASON", "SECRET-OF-B", "RED-MATTER",
	"RED-REPORTED", "B-SUBJECT", "B-REPORTER", "reporter@b.example", "University B", "uni-b", "PAP"}

func mustNotContain(t *testing.T, what, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(body, p) {
			t.Errorf("%s shows %q", what, p)
		}
	}
}

func TestPortalReportsAnIncident(t *testing.T) {
	env := newPortalEnv(t)
	b := env.browser()
	b.login("ca", portalPassword)
	form := b.get("/portal/reports/new")
	if form.status != http.StatusOK {
		t.Fatalf("GET /portal/reports/new: %d", form.status)
	}
	mustContain(t, html.UnescapeString(form.body), "Phishing mail or SMS", "DoS or suspect traffic", "University A", `href="/portal/incidents"`)
	eml := []byte("From: alerts@bank-secure.be\r\nSubject: Your account\r\n\r\nLog in at https://bank-refund.net/claim\r\n")
	tracking := portalReport(t, b, map[string]string{"kind": "phishing", "subject": "Mail to our staff",
		"concerned": "hxxps://evil-a[.]be/login", "text": "Our staff got a mail asking to log in.",
		// A hand-made post naming uni-b is filed for uni-a all the same.
		"org": "uni-b", "org_id": "2", "reporter_org": "2"},
		reportFile{"forward.eml", "message/rfc822", eml})

	ctx := context.Background()
	rep, err := env.store.GetReportByTracking(ctx, tracking)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Channel != incident.ChannelPortal || rep.Kind != incident.KindPhishing || rep.Subject != "Mail to our staff" ||
		rep.Reporter.OrgID != env.orgs["uni-a"].ID || rep.Reporter.Name != "ca" || len(rep.Attachments) != 1 {
		t.Errorf("stored report %+v", rep)
	}
	for _, want := range []extract.Observable{{Kind: extract.URL, Value: "https://evil-a.be/login"},
		{Kind: extract.URL, Value: "https://bank-refund.net/claim"}} {
		if !slices.Contains(rep.Observables, want) {
			t.Errorf("observables %v lack %v", rep.Observables, want)
		}
	}
	if !contains(env.auditActions(), "report.create") {
		t.Errorf("audit %v lacks report.create", env.auditActions())
	}
	list := b.get("/portal/incidents")
	mustContain(t, list.body, tracking, "Mail to our staff")
	// uni-b sees nothing of it.
	other := env.browser()
	other.login("cb", portalPassword)
	mustNotContain(t, "uni-b's list", other.get("/portal/incidents").body, tracking, "Mail to our staff")

	// A second report of the same URL groups into one incident, which
	// uni-a then sees, with both its reports.
	second := portalReport(t, b, map[string]string{"kind": "phishing", "text": "Again: https://evil-a.be/login"})
	answer := b.get("/portal/incidents")
	m := regexp.MustCompile(`href="/portal/incidents/(\d{4}-\d+)"`).FindStringSubmatch(answer.body)
	if m == nil {
		t.Fatalf("no incident listed after two reports of one URL:\n%s", answer.body)
	}
	detail := b.get("/portal/incidents/" + m[1])
	if detail.status != http.StatusOK {
		t.Fatalf("GET the incident: %d", detail.status)
	}
	mustContain(t, detail.body, tracking, second)
}

func TestPortalReportRefusesBadInput(t *testing.T) {
	env := newPortalEnv(t)
	b := env.browser()
	b.login("ca", portalPassword)
	b.get("/portal/reports/new")
	for name, tt := range map[string]struct {
		fields map[string]string
		files  []reportFile
		want   string
	}{
		"no kind":        {map[string]string{"text": "something"}, nil, "Choose what happened"},
		"an unknown one": {map[string]string{"kind": "ufo", "text": "something"}, nil, "Choose what happened"},
		"no text":        {map[string]string{"kind": "malware", "text": "  "}, nil, "Describe what happened"},
		"a long subject": {map[string]string{"kind": "malware", "text": "x", "subject": strings.Repeat("s", 1001)}, nil, "The subject is too long"},
		"a program":      {map[string]string{"kind": "malware", "text": "x"}, []reportFile{{"run.exe", "application/octet-stream", []byte("MZ\x90\x00\x03binary")}}, "run.exe"},
		"no csrf":        {map[string]string{"kind": "malware", "text": "x", "csrf": ""}, nil, ""},
	} {
		res := b.postReport("/portal/reports/new", tt.fields, tt.files...)
		if name == "no csrf" {
			if res.status != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", name, res.status)
			}
			continue
		}
		if res.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(res.body), tt.want) {
			t.Errorf("%s: %d, want 400 saying %q:\n%.600s", name, res.status, tt.want, res.body)
		}
	}
	if page, err := env.store.ListReports(context.Background(), incident.ReportQuery{}); err != nil || page.Total != 0 {
		t.Errorf("refused reports were kept: %d, %v", page.Total, err)
	}
}

func TestPortalIncidentsShowOnlyWhatMayBeShown(t *testing.T) {
	env := newPortalCase(t)
	b := env.browser()
	b.login("ca", portalPassword)
	list := b.get("/portal/incidents")
	if list.status != http.StatusOK {
		t.Fatalf("GET /portal/incidents: %d", list.status)
	}
	body := html.UnescapeString(list.body)
	mustContain(t, body, env.concerns.Tag.String(), "Phishing kit on A's web server", "resolved",
		env.reported.Tag.String(), "Fake login page reported by A", "waiting",
		env.ownReported, env.ownRed, "A's report on a red incident")
	mustNotContain(t, "the list", body, withheld...)
	mustNotContain(t, "the list", body, env.others.Tag.String(), env.red.Tag.String(), env.redReported.Tag.String(), env.bReport)
	// The report on the red incident shows its state, not the incident.
	row := regexp.MustCompile(`(?s)<tr>\s*<td class="mono">` + env.ownRed + `</td>.*?</tr>`).FindString(list.body)
	if !strings.Contains(row, "linked") || !strings.Contains(row, "—") || strings.Contains(row, "/portal/incidents/") {
		t.Errorf("the report on the red incident: %s", row)
	}

	detail := b.get("/portal/incidents/" + env.concerns.Tag.String())
	if detail.status != http.StatusOK {
		t.Fatalf("GET the incident: %d", detail.status)
	}
	body = html.UnescapeString(detail.body)
	mustContain(t, body, "Phishing kit on A's web server", "Kit removed, server cleaned", "None of your reports")
	mustNotContain(t, "the detail", body, withheld...)
	detail = b.get("/portal/incidents/" + env.reported.Tag.String())
	mustContain(t, detail.body, env.ownReported, "waiting")
	mustNotContain(t, "the waiting incident", html.UnescapeString(detail.body), withheld...)

	// Another organisation's incident, a red one (even one it reported),
	// a missing one and a broken tag are all the same plain 404.
	missing := b.get("/portal/incidents/2026-99999")
	if missing.status != http.StatusNotFound {
		t.Fatalf("a missing incident: %d", missing.status)
	}
	for _, path := range []string{env.others.Tag.String(), env.red.Tag.String(), env.redReported.Tag.String(), "0-0", "2026-x", "..%2fincidents"} {
		res := b.get("/portal/incidents/" + path)
		if res.status != http.StatusNotFound || res.body != missing.body {
			t.Errorf("incident %s: %d, want the missing incident's 404", path, res.status)
		}
	}
	// Guessing every tag around them finds nothing more.
	for seq := 1; seq <= 12; seq++ {
		tag := incident.Tag{Year: env.concerns.Tag.Year, Seq: seq}
		res := b.get("/portal/incidents/" + tag.String())
		want := http.StatusNotFound
		if tag == env.concerns.Tag || tag == env.reported.Tag {
			want = http.StatusOK
		}
		if res.status != want {
			t.Errorf("guessed tag %s: %d, want %d", tag, res.status, want)
		}
	}

	// uni-b sees its own incidents and never uni-a's reports.
	ob := env.browser()
	ob.login("cb", portalPassword)
	body = html.UnescapeString(ob.get("/portal/incidents").body)
	mustContain(t, body, "SECRET-OF-B", env.concerns.Tag.String(), env.reported.Tag.String(), env.bReport)
	mustNotContain(t, "uni-b's list", body, env.ownReported, env.ownRed, "RED-REPORTED", "A's report")
	mustNotContain(t, "uni-b's view of the incident A reported", ob.get("/portal/incidents/"+env.reported.Tag.String()).body, env.ownReported, "A's report")
}

func TestPortalIncidentsAccess(t *testing.T) {
	env := newPortalEnv(t)
	for _, who := range []struct{ name, password string }{{"analyst", "the analyst's passphrase"}, {"nobody", portalPassword}} {
		b := env.browser()
		b.login(who.name, who.password)
		for _, path := range []string{"/portal/incidents", "/portal/incidents/2026-1", "/portal/reports/new"} {
			if res := b.get(path); res.status != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", who.name, path, res.status)
			}
		}
	}
	if res := env.browser().get("/portal/incidents"); res.status != http.StatusSeeOther {
		t.Errorf("anonymous GET /portal/incidents: %d, want a redirect to the login", res.status)
	}
	b := env.browser()
	b.login("ca", portalPassword)
	nav := b.get("/portal/")
	mustContain(t, nav.body, `href="/portal/incidents"`, `href="/portal/reports/new"`)
	if res := b.get("/portal/incidents"); !strings.Contains(res.body, `id="noincidents"`) || !strings.Contains(res.body, `id="noreports"`) {
		t.Errorf("an empty list does not say so:\n%.600s", res.body)
	}
}
