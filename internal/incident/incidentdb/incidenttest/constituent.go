package incidenttest

import (
	"errors"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
)

// testConstituent checks what a constituent organisation may follow: the
// incidents that concern it and those its own reports are linked to, less
// merged ones, TLP:RED left out by the label filter, and the views of
// package incident over them (the portal's and the constituent API's).
func testConstituent(t *testing.T, f *fixture) {
	ctx := t.Context()
	const orgA, orgB = 1, 2
	mk := func(title string, tlp incident.TLP, orgs ...int64) incident.Incident {
		t.Helper()
		f.now = f.now.Add(time.Minute)
		inc, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: title, Kind: incident.KindPhishing, TLP: tlp, OrgIDs: orgs}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	concerns := mk("Concerns A", incident.TLPAmber, orgA, orgB)
	others := mk("Concerns B only", incident.TLPGreen, orgB)
	reported := mk("B's, reported by A", incident.TLPAmber, orgB)
	red := mk("Red, concerns A", incident.TLPRed, orgA)
	redReported := mk("Red, B's, reported by A", incident.TLPRed, orgB)
	merged := mk("Merged, concerns A", incident.TLPAmber, orgA)
	if err := f.svc.Merge(ctx, analyst, concerns.ID, merged.ID, "same thing"); err != nil {
		t.Fatal(err)
	}
	own := func(url string, to int64) incident.Receipt {
		t.Helper()
		r := phishing(url)
		r.Channel, r.Reporter.OrgID = incident.ChannelPortal, orgA
		got := f.receive(t, r)
		if to != 0 {
			if _, err := f.svc.LinkReports(ctx, analyst, to, []int64{got.ReportID}); err != nil {
				t.Fatal(err)
			}
		}
		return got
	}
	f.now = f.now.Add(time.Minute)
	ownReported := own("https://a-reports.example/1", reported.ID)
	f.now = f.now.Add(time.Minute)
	ownRed := own("https://a-reports.example/2", redReported.ID)
	f.now = f.now.Add(time.Minute)
	ownAlone := own("https://a-reports.example/3", 0)
	// B's report on the incident that concerns A is not A's.
	bs := phishing("https://b-reports.example/")
	bs.Reporter.OrgID = orgB
	if _, err := f.svc.LinkReports(ctx, analyst, concerns.ID, []int64{f.receive(t, bs).ReportID}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	if _, err := f.svc.Transition(ctx, analyst, concerns.ID, incident.StatusResolved, "Site taken down"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Transition(ctx, analyst, reported.ID, incident.StatusWaiting, "Asked CERT-X about host 10.1.1.1"); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		q    incident.IncidentQuery
		want []int64
	}{
		{"A's, any label", incident.IncidentQuery{Constituent: orgA, Sort: incident.SortCreated}, []int64{redReported.ID, red.ID, reported.ID, concerns.ID}},
		{"A's, shown labels", incident.IncidentQuery{Constituent: orgA, TLPs: incident.ConstituentTLPs, Sort: incident.SortCreated}, []int64{reported.ID, concerns.ID}},
		{"B's", incident.IncidentQuery{Constituent: orgB, TLPs: incident.ConstituentTLPs, Sort: incident.SortCreated}, []int64{reported.ID, others.ID, concerns.ID}},
		{"by label", incident.IncidentQuery{TLPs: []incident.TLP{incident.TLPRed}, Sort: incident.SortCreated}, []int64{redReported.ID, red.ID}},
		{"nobody's", incident.IncidentQuery{Constituent: 3}, nil},
	} {
		page, err := f.inc.ListIncidents(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []int64
		for _, inc := range page.Incidents {
			got = append(got, inc.ID)
		}
		if !equalIDs(got, tt.want) || page.Total != len(tt.want) {
			t.Errorf("%s: %v of %d, want %v", tt.name, got, page.Total, tt.want)
		}
	}

	// The views: the list, the most recently changed first.
	list, err := incident.ConstituentIncidents(ctx, f.inc, orgA, 50, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.Items[0].Tag != reported.Tag || list.Items[1].Tag != concerns.Tag || list.Total != 2 {
		t.Fatalf("A's incidents: %+v", list)
	}
	if list.Items[0].StatusReason != "" || list.Items[1].StatusReason != "Site taken down" {
		t.Errorf("status reasons: waiting %q, resolved %q; want only the resolved one's", list.Items[0].StatusReason, list.Items[1].StatusReason)
	}
	// The detail: A's own reports only.
	got, err := incident.ConstituentIncidentByTag(ctx, f.inc, orgA, concerns.Tag)
	if err != nil || got.Status != incident.StatusResolved || len(got.Reports) != 0 {
		t.Errorf("the incident that concerns A: %+v, %v; want resolved, none of B's reports", got, err)
	}
	got, err = incident.ConstituentIncidentByTag(ctx, f.inc, orgA, reported.Tag)
	if err != nil || len(got.Reports) != 1 || got.Reports[0].Tracking != ownReported.Tracking || got.Reports[0].State != incident.ReportLinked {
		t.Errorf("the incident A reported: %+v, %v", got, err)
	}
	// Whatever A may not see is missing, like a tag nobody has.
	for name, tag := range map[string]incident.Tag{"B's": others.Tag, "red": red.Tag, "red, reported": redReported.Tag,
		"merged": merged.Tag, "unknown": {Year: 2026, Seq: 9999}} {
		if _, err := incident.ConstituentIncidentByTag(ctx, f.inc, orgA, tag); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s incident for A: %v, want not found", name, err)
		}
	}
	// A's reports: the red incident's tag withheld, its state shown.
	reps, err := incident.ConstituentReports(ctx, f.inc, orgA, 50, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		tracking string
		state    incident.ReportState
		tag      incident.Tag
	}{{ownAlone.Tracking, incident.ReportNew, incident.Tag{}}, {ownRed.Tracking, incident.ReportLinked, incident.Tag{}},
		{ownReported.Tracking, incident.ReportLinked, reported.Tag}}
	if len(reps.Items) != len(want) || reps.Total != len(want) {
		t.Fatalf("A's reports: %+v", reps)
	}
	for i, w := range want {
		if r := reps.Items[i]; r.Tracking != w.tracking || r.State != w.state || r.Incident != w.tag {
			t.Errorf("A's report %d: %+v, want %+v", i, r, w)
		}
	}
	if reps, err := incident.ConstituentReports(ctx, f.inc, 0, 50, 0); err != nil || len(reps.Items) != 0 {
		t.Errorf("the reports of no organisation: %+v, %v", reps, err)
	}
}
