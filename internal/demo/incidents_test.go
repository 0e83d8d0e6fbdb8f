package demo_test

import (
	"context"
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The demo holds a report of every channel, the three reports of one
// phishing site grouped into one incident as they arrived, and incidents
// in every status; loading it again adds nothing.
func TestDemoIncidents(t *testing.T) {
	ctx := context.Background()
	st := database.On(dbtest.SQLite(t, database.Schemas...))
	set, err := demo.Prepare(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for range 2 {
		if err := set.Load(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	reports, err := st.ListReports(ctx, incident.ReportQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	channels := map[incident.Channel]int{}
	grouped := map[int64]int{}
	for _, r := range reports.Reports {
		channels[r.Channel]++
		if r.IncidentID != 0 {
			grouped[r.IncidentID]++
		}
	}
	for _, c := range incident.Channels {
		if channels[c] == 0 {
			t.Errorf("no demo report came by %s", c)
		}
	}
	if reports.Total != 8 {
		t.Errorf("%d demo reports after loading twice, want 8", reports.Total)
	}
	if len(grouped) != 1 {
		t.Errorf("reports grouped into %d incidents, want the phishing site's one: %v", len(grouped), grouped)
	}
	for id, n := range grouped {
		if n != 3 {
			t.Errorf("incident %d holds %d reports, want 3", id, n)
		}
	}
	incidents, err := st.ListIncidents(ctx, incident.IncidentQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[incident.Status]int{}
	for _, inc := range incidents.Incidents {
		statuses[inc.Status]++
	}
	for _, s := range incident.Statuses {
		if statuses[s] == 0 {
			t.Errorf("no demo incident is %s: %v", s, statuses)
		}
	}
}
