package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
)

type benchOrgs []constituency.Organisation

func (o benchOrgs) ListOrganisations(context.Context, constituency.OrganisationQuery) ([]constituency.Organisation, error) {
	return o, nil
}

// BenchmarkGroup times matching a batch of 5,000 stored events against
// three rules and grouping those that match by organisation and type,
// without the database: the worker's own work per event.
func BenchmarkGroup(b *testing.B) {
	types := [][2]string{{"vulnerable", "vulnerable-system"}, {"malicious-code", "infected-system"},
		{"fraud", "phishing"}, {"information-gathering", "scanner"}}
	var orgs benchOrgs
	for i := range 50 {
		orgs = append(orgs, constituency.Organisation{ID: int64(i + 1), Handle: fmt.Sprintf("org-%02d", i), Name: fmt.Sprintf("Org %d", i)})
	}
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	events := make([]store.StoredEvent, 5000)
	for i := range events {
		typ := types[i%len(types)]
		e := event.New(8)
		tags, _ := json.Marshal([]string{orgs[i/len(types)%50].Handle})
		for k, v := range map[string]string{"time.source": event.FormatTime(start.Add(time.Duration(i) * time.Second)),
			"classification.taxonomy": typ[0], "classification.type": typ[1], "feed.name": "Shadowserver bench",
			"source.ip": fmt.Sprintf("10.0.%d.%d", i>>8&255, i&255), "source.port": "3389", store.ConstituencyField: string(tags)} {
			if err := e.Set(k, v); err != nil {
				b.Fatal(err)
			}
		}
		events[i] = store.StoredEvent{Seq: int64(i + 1), Hash: e.Hash(), Stored: start, Event: e}
	}
	w := &Worker{Service: &incident.Service{}, Organisations: orgs,
		Rules: []Rule{{Taxonomy: "vulnerable"}, {Type: "infected-system", Severity: incident.SeverityHigh}, {Type: "phishing", MinCount: 10}}}
	b.ResetTimer()
	for range b.N {
		groups, err := w.Group(context.Background(), events)
		if err != nil || len(groups) != 150 {
			b.Fatalf("%d groups, %v", len(groups), err)
		}
	}
	b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
}
