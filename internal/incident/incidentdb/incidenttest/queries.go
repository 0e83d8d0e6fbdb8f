package incidenttest

import (
	"errors"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

func testTriageQueue(t *testing.T, f *fixture) {
	ctx := t.Context()
	var want []int64
	for i, k := range []incident.Kind{incident.KindPhishing, incident.KindMalware, incident.KindPhishing, incident.KindDoS} {
		r := phishing("https://queue.example/" + string(k) + time.Duration(i).String())
		r.Kind, r.Received = k, f.now.Add(time.Duration(i)*time.Minute)
		if k == incident.KindDoS {
			r.Channel, r.Reporter.OrgID, r.Text = incident.ChannelPhone, 9, "Our uplink is FULL since noon"
		}
		want = append(want, f.receive(t, r).ReportID)
	}
	for _, tt := range []struct {
		name string
		q    incident.ReportQuery
		want []int64
	}{
		{"the queue, newest first", incident.ReportQuery{States: []incident.ReportState{incident.ReportNew}}, []int64{want[3], want[2], want[1], want[0]}},
		{"oldest first", incident.ReportQuery{Oldest: true}, want},
		{"by kind", incident.ReportQuery{Kinds: []incident.Kind{incident.KindPhishing}}, []int64{want[2], want[0]}},
		{"by channel", incident.ReportQuery{Channels: []incident.Channel{incident.ChannelPhone}}, []int64{want[3]}},
		{"by organisation", incident.ReportQuery{OrgID: 9}, []int64{want[3]}},
		{"by text, any case", incident.ReportQuery{Text: "uplink is full"}, []int64{want[3]}},
		{"by observable", incident.ReportQuery{Observable: "https://queue.example/malware1ns"}, []int64{want[1]}},
		{"by dates", incident.ReportQuery{From: f.now.Add(time.Minute), To: f.now.Add(3 * time.Minute)}, []int64{want[2], want[1]}},
		{"a page", incident.ReportQuery{Limit: 2, Offset: 1}, []int64{want[2], want[1]}},
		{"nothing", incident.ReportQuery{States: []incident.ReportState{incident.ReportTriaged}}, nil},
	} {
		page, err := f.inc.ListReports(ctx, tt.q)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var got []int64
		for _, r := range page.Reports {
			got = append(got, r.ID)
		}
		total := len(tt.want)
		if tt.q.Limit != 0 {
			total = 4
		}
		if !equalIDs(got, tt.want) || page.Total != total {
			t.Errorf("%s: %v of %d, want %v of %d", tt.name, got, page.Total, tt.want, total)
		}
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testIncidentList(t *testing.T, f *fixture) {
	ctx := t.Context()
	bob := f.user(t, "bob")
	start := f.now
	mk := func(title string, kind incident.Kind, sev incident.Severity, orgs ...int64) incident.Incident {
		t.Helper()
		f.now = f.now.Add(time.Minute)
		inc, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: title, Kind: kind, Severity: sev, OrgIDs: orgs}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	crit := mk("Ransomware at univ-a", incident.KindMalware, incident.SeverityCritical, 1, 2)
	low := mk("Scanner", incident.KindOther, incident.SeverityLow)
	high := mk("DoS on the ministry", incident.KindDoS, incident.SeverityHigh, 2)
	if _, err := f.svc.Assign(ctx, analyst, high.ID, bob.ID, bob.Name); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	if _, err := f.svc.Transition(ctx, analyst, low.ID, incident.StatusResolved, "false positive"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	r := phishing("https://listed.example/")
	r.Observables = append(r.Observables, extract.Observable{Kind: extract.Domain, Value: "listed.example"})
	got := f.receive(t, r)
	if _, err := f.svc.LinkReports(ctx, analyst, crit.ID, []int64{got.ReportID}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		q    incident.IncidentQuery
		want []int64
	}{
		{"last changed first", incident.IncidentQuery{}, []int64{crit.ID, low.ID, high.ID}},
		{"by status", incident.IncidentQuery{Statuses: []incident.Status{incident.StatusNew}}, []int64{crit.ID, high.ID}},
		{"mine", incident.IncidentQuery{AssigneeID: bob.ID}, []int64{high.ID}},
		{"nobody's", incident.IncidentQuery{Unassigned: true, Sort: incident.SortCreated}, []int64{low.ID, crit.ID}},
		{"by organisation", incident.IncidentQuery{OrgID: 2, Sort: incident.SortCreated}, []int64{high.ID, crit.ID}},
		{"by severity", incident.IncidentQuery{Severities: []incident.Severity{incident.SeverityLow}}, []int64{low.ID}},
		{"by kind", incident.IncidentQuery{Kinds: []incident.Kind{incident.KindDoS, incident.KindOther}, Sort: incident.SortCreated}, []int64{high.ID, low.ID}},
		{"by kind and severity", incident.IncidentQuery{Kinds: []incident.Kind{incident.KindDoS}, Severities: []incident.Severity{incident.SeverityLow}}, nil},
		{"by text", incident.IncidentQuery{Text: "UNIV-A"}, []int64{crit.ID}},
		{"by observable", incident.IncidentQuery{Observable: "listed.example"}, []int64{crit.ID}},
		{"by dates", incident.IncidentQuery{From: start.Add(2 * time.Minute), To: start.Add(3 * time.Minute)}, []int64{low.ID}},
		{"soonest due", incident.IncidentQuery{Sort: incident.SortDue}, []int64{crit.ID, high.ID, low.ID}},
		// Critical is due in 4 hours, high in a day; low is resolved.
		{"overdue in 5 hours", incident.IncidentQuery{OverdueAt: start.Add(5 * time.Hour)}, []int64{crit.ID}},
		{"overdue in a month", incident.IncidentQuery{OverdueAt: start.Add(30 * 24 * time.Hour), Sort: incident.SortDue}, []int64{crit.ID, high.ID}},
		{"overdue now", incident.IncidentQuery{OverdueAt: start}, nil},
	} {
		page, err := f.inc.ListIncidents(ctx, tt.q)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var got []int64
		for _, inc := range page.Incidents {
			got = append(got, inc.ID)
		}
		if !equalIDs(got, tt.want) || page.Total != len(tt.want) {
			t.Errorf("%s: %v of %d, want %v", tt.name, got, page.Total, tt.want)
		}
	}
	page, _ := f.inc.ListIncidents(ctx, incident.IncidentQuery{OrgID: 1})
	if len(page.Incidents) != 1 || !equalIDs(page.Incidents[0].OrgIDs, []int64{1, 2}) {
		t.Errorf("a listed incident's organisations: %+v", page.Incidents)
	}
}

func testDeleteOrganisation(t *testing.T, f *fixture) {
	ctx := t.Context()
	org := storetest.Organisation(t, f.st, "univ-a")
	orgs := database.Constituency(f.st.DB())
	inc, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Infected hosts at univ-a", OrgIDs: []int64{org.ID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := phishing("https://portal.example/")
	r.Channel, r.Reporter.OrgID = incident.ChannelPortal, org.ID
	rep := f.receive(t, r)
	if err := orgs.DeleteOrganisation(ctx, org.ID); !errors.Is(err, store.ErrConflict) || !errors.Is(err, incident.ErrOrganisationHasIncidents) {
		t.Fatalf("deleting an organisation with an open incident: %v, want ErrConflict and ErrOrganisationHasIncidents", err)
	}
	if got := f.incident(t, inc.ID); !equalIDs(got.OrgIDs, []int64{org.ID}) {
		t.Errorf("a refused delete changed the incident: %+v", got)
	}
	if _, err := f.svc.Transition(ctx, analyst, inc.ID, incident.StatusClosed, "cleaned"); err != nil {
		t.Fatal(err)
	}
	if err := orgs.DeleteOrganisation(ctx, org.ID); err != nil {
		t.Fatalf("deleting an organisation with only closed incidents: %v", err)
	}
	got := f.incident(t, inc.ID)
	if len(got.OrgIDs) != 0 || got.Title != "Infected hosts at univ-a" || f.timeline(t, inc.ID) != "created status" {
		t.Errorf("the closed incident after the delete: %+v", got)
	}
	if r := f.report(t, rep.ReportID); r.Reporter.OrgID != 0 {
		t.Errorf("the report still names organisation %d", r.Reporter.OrgID)
	}
}
