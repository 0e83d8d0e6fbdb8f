package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/incident"
)

// constituentCase is what the constituent incident tests set up on top of
// f.constituency(): incidents uni-a may see and incidents it may not.
type constituentCase struct {
	concerns, others, reported, red, redReported incident.Incident
	ownReported, ownRed, bReport                 string // tracking numbers
}

func (f *fixture) constituentIncidents() constituentCase {
	f.t.Helper()
	ctx := f.t.Context()
	svc := &incident.Service{Store: f.store, Audit: f.store}
	team := incident.Actor{UserID: f.users["ada"].ID, Name: "ada"}
	a, b := f.users["ca"].OrgID, f.users["cb"].OrgID
	mk := func(title string, tlp incident.TLP, orgs ...int64) incident.Incident {
		f.t.Helper()
		inc, err := svc.CreateIncident(ctx, team, incident.Incident{Title: title, Kind: incident.KindMalware, TLP: tlp,
			Impact: "IMPACT-WITHHELD", OrgIDs: orgs}, nil)
		if err != nil {
			f.t.Fatal(err)
		}
		return inc
	}
	var c constituentCase
	c.concerns = mk("Infected hosts at A and B", incident.TLPAmber, a, b)
	c.others = mk("SECRET-OF-B", incident.TLPClear, b)
	c.reported = mk("Reported by A", incident.TLPGreen, b)
	c.red = mk("RED-MATTER", incident.TLPRed, a)
	c.redReported = mk("RED-REPORTED", incident.TLPRed, b)
	if _, err := svc.Assign(ctx, team, c.concerns.ID, f.users["ana"].ID, "ana"); err != nil {
		f.t.Fatal(err)
	}
	if _, err := svc.AddNote(ctx, team, c.concerns.ID, "INTERNAL-NOTE"); err != nil {
		f.t.Fatal(err)
	}
	if _, err := svc.Transition(ctx, team, c.concerns.ID, incident.StatusClosed, "Hosts cleaned"); err != nil {
		f.t.Fatal(err)
	}
	receive := func(r incident.Report, to int64) string {
		f.t.Helper()
		got, err := svc.Receive(ctx, &r)
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := svc.LinkReports(ctx, team, to, []int64{got.ReportID}); err != nil {
			f.t.Fatal(err)
		}
		return got.Tracking
	}
	own := incident.Report{Channel: incident.ChannelPortal, Kind: incident.KindMalware, Subject: "A's report", Text: "infected",
		Reporter: incident.Reporter{Name: "ca", OrgID: a}}
	c.ownReported = receive(own, c.reported.ID)
	c.ownRed = receive(own, c.redReported.ID)
	c.bReport = receive(incident.Report{Channel: incident.ChannelEmail, Kind: incident.KindMalware, Subject: "B-SUBJECT", Text: "b",
		Reporter: incident.Reporter{Name: "B-REPORTER", Email: "reporter@b.example", OrgID: b}}, c.concerns.ID)
	return c
}

// constituentIncidentCalls are the successful calls of the constituent's
// incident routes for TestOpenAPIMatchesRoutes.
func (f *fixture) constituentIncidentCalls() map[string]struct {
	path, body string
	status     int
} {
	c := f.constituentIncidents()
	return map[string]struct {
		path, body string
		status     int
	}{
		"GET /constituent/incidents/{tag}": {path: "/constituent/incidents/" + c.concerns.Tag.String()},
		"POST /constituent/reports":        {body: `{"kind":"phishing","text":"a mail to our staff"}`, status: http.StatusCreated},
	}
}

var withheldJSON = []string{"IMPACT-WITHHELD", `"ana"`, "INTERNAL-NOTE", "SECRET-OF-B", "RED-MATTER", "RED-REPORTED",
	"B-SUBJECT", "B-REPORTER", "reporter@b.example", "pap", "severity", "assignee", "impact", "org_ids", "observables", "timeline"}

func TestConstituentIncidents(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	c := f.constituentIncidents()

	r := f.get("/constituent/incidents", "ca")
	if r.status != http.StatusOK {
		t.Fatalf("GET /constituent/incidents: %d %s", r.status, r.body)
	}
	var list constituentIncidentPageJSON
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, inc := range list.Incidents {
		tags = append(tags, inc.Tag)
	}
	// The most recently changed first: the closing came last.
	if strings.Join(tags, " ") != c.concerns.Tag.String()+" "+c.reported.Tag.String() || list.Total != 2 {
		t.Errorf("ca's incidents: %s", r.body)
	}
	for _, w := range withheldJSON {
		if strings.Contains(string(r.body), w) {
			t.Errorf("the list shows %q: %s", w, r.body)
		}
	}

	r = f.get("/constituent/incidents/"+c.concerns.Tag.String(), "ca")
	var detail constituentIncidentJSON
	if err := json.Unmarshal(r.body, &detail); err != nil || r.status != http.StatusOK {
		t.Fatalf("the incident: %d %s", r.status, r.body)
	}
	if detail.Status != incident.StatusClosed || detail.StatusReason != "Hosts cleaned" || len(detail.Reports) != 0 {
		t.Errorf("the incident that concerns A: %s", r.body)
	}
	for _, w := range withheldJSON {
		if strings.Contains(string(r.body), w) {
			t.Errorf("the detail shows %q: %s", w, r.body)
		}
	}
	r = f.get("/constituent/incidents/"+c.reported.Tag.String(), "ca")
	if !strings.Contains(string(r.body), c.ownReported) || strings.Contains(string(r.body), c.ownRed) {
		t.Errorf("the incident A reported: %s", r.body)
	}

	// Another organisation's, red (even reported), merged or missing:
	// the same 404.
	missing := f.get("/constituent/incidents/2026-99999", "ca")
	wantError(t, missing, http.StatusNotFound, "not_found", "")
	for _, tag := range []string{c.others.Tag.String(), c.red.Tag.String(), c.redReported.Tag.String()} {
		if r := f.get("/constituent/incidents/"+tag, "ca"); r.status != http.StatusNotFound || string(r.body) != string(missing.body) {
			t.Errorf("incident %s for ca: %d %s", tag, r.status, r.body)
		}
	}
	wantError(t, f.get("/constituent/incidents/not-a-tag", "ca"), http.StatusBadRequest, "bad_parameter", "tag")
	wantError(t, f.get("/constituent/incidents?org=uni-b", "ca"), http.StatusBadRequest, "bad_parameter", "org")

	r = f.get("/constituent/reports", "ca")
	var reps constituentReportPageJSON
	if err := json.Unmarshal(r.body, &reps); err != nil || len(reps.Reports) != 2 {
		t.Fatalf("ca's reports: %d %s", r.status, r.body)
	}
	for _, rep := range reps.Reports {
		want := map[string]string{c.ownReported: c.reported.Tag.String(), c.ownRed: ""}[rep.Tracking]
		if rep.Incident != want || rep.State != incident.ReportLinked {
			t.Errorf("report %s: incident %q, state %s; want %q, linked", rep.Tracking, rep.Incident, rep.State, want)
		}
	}

	// cb sees its own, never A's reports.
	r = f.get("/constituent/reports", "cb")
	if !strings.Contains(string(r.body), c.bReport) || strings.Contains(string(r.body), c.ownReported) {
		t.Errorf("cb's reports: %s", r.body)
	}
	if r := f.get("/constituent/incidents/"+c.reported.Tag.String(), "cb"); strings.Contains(string(r.body), c.ownReported) {
		t.Errorf("cb sees A's report: %s", r.body)
	}
	// The team's and an organisation-less token get 403.
	for _, user := range []string{"ada", "ana", "lost"} {
		for _, path := range []string{"/constituent/incidents", "/constituent/reports", "/constituent/incidents/" + c.concerns.Tag.String()} {
			if r := f.get(path, user); r.status != http.StatusForbidden {
				t.Errorf("%s GET %s: %d", user, path, r.status)
			}
		}
	}
}

func TestConstituentReportsAnIncident(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	r := f.postJSON("/constituent/reports", "ca", `{"kind":"fake_website","subject":"A copy of our site",
		"concerned":"hxxps://uni-a-login[.]com/","text":"Someone copied our login page."}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST /constituent/reports: %d %s", r.status, r.body)
	}
	var got constituentReportJSON
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	rep, err := f.store.GetReportByTracking(t.Context(), got.Tracking)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Channel != incident.ChannelPortal || rep.Reporter.OrgID != f.users["ca"].OrgID || rep.Reporter.Name != "ca" ||
		rep.Reporter.Email != "ca@a.example" || len(rep.Observables) == 0 || got.State != incident.ReportNew {
		t.Errorf("stored %+v, answered %s", rep, r.body)
	}
	if e := f.lastAudit(); e.Action != "report.create" || e.Target != got.Tracking {
		t.Errorf("audit %+v", e)
	}
	// A second report of the URL groups into an incident A then sees.
	r = f.postJSON("/constituent/reports", "ca", `{"kind":"fake_website","text":"again https://uni-a-login.com/"}`)
	if err := json.Unmarshal(r.body, &got); err != nil || got.Incident == "" || got.State != incident.ReportLinked {
		t.Fatalf("the second report: %d %s", r.status, r.body)
	}
	if r := f.get("/constituent/incidents/"+got.Incident, "ca"); r.status != http.StatusOK {
		t.Errorf("the incident of A's reports: %d %s", r.status, r.body)
	}

	// Nothing in the body names another reporter or organisation.
	for field, body := range map[string]string{
		"reporter": `{"kind":"other","text":"x","reporter":{"org_id":2}}`,
		"org_id":   `{"kind":"other","text":"x","org_id":2}`,
		"channel":  `{"kind":"other","text":"x","channel":"web"}`,
	} {
		wantError(t, f.postJSON("/constituent/reports", "ca", body), http.StatusBadRequest, "bad_parameter", field)
	}
	wantError(t, f.postJSON("/constituent/reports", "ca", `{"kind":"ufo","text":"x"}`), http.StatusBadRequest, "bad_input", "")
	wantError(t, f.postJSON("/constituent/reports", "ca", `{"kind":"other","text":"  "}`), http.StatusBadRequest, "bad_parameter", "text")
	if r := f.postJSON("/constituent/reports", "ana", `{"kind":"other","text":"x"}`); r.status != http.StatusForbidden {
		t.Errorf("an analyst's token: %d", r.status)
	}
	page, err := f.store.ListReports(t.Context(), incident.ReportQuery{})
	if err != nil || page.Total != 2 {
		t.Errorf("reports kept: %d, %v; want the two accepted", page.Total, err)
	}
}
