package console

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/alert"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestAlertsInTheQueue: a pipeline alert shows its organisation, its
// classification, its counter and its severity in the triage queue, and
// an incident opened from it takes the organisation, the classification
// and the severity.
func TestAlertsInTheQueue(t *testing.T) {
	env := newCaseEnv(t)
	ctx := context.Background()
	events := make([]*event.Event, 1234)
	for i := range events {
		events[i] = storetest.Event(t, map[string]string{
			"time.source":             event.FormatTime(time.Date(2026, 12, 3, 9, 0, i%60, 0, time.UTC).Add(time.Duration(i) * time.Minute)),
			"classification.taxonomy": "malicious-code",
			"classification.type":     "infected-system",
			"feed.name":               "Shadowserver sinkhole",
			"source.ip":               fmt.Sprintf("192.0.2.%d", 1+i%250),
		}, env.org.Handle)
	}
	storetest.Insert(t, env.store, events...)
	storetest.Insert(t, env.store, storetest.Event(t, map[string]string{"classification.taxonomy": "vulnerable",
		"classification.type": "vulnerable-system", "time.source": "2026-12-03T09:00:00Z"}))
	w := &alert.Worker{Events: env.store, Store: env.store.Alerts, Service: env.console.cases(), Organisations: env.store,
		Rules: []alert.Rule{{Name: "Bots", Type: "infected-system", Severity: incident.SeverityCritical}, {Type: "vulnerable-system"}}}
	for {
		n, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	web := env.receive(incident.KindPhishing, "a mail linking to https://one-bank.be/login")
	b := env.analyst()
	res := b.get("/reports")
	mustContain(t, res.body, "3 reports", `<a href="/constituency/`+fmt.Sprint(env.org.ID)+`">Bank X</a>`,
		"malicious-code / infected-system", "1,234 matching events", "Severity: critical", "no organisation",
		"vulnerable / vulnerable-system", "1 matching event<", web.Tracking, "Bots",
		`href="/events?org=bank-x&amp;type=infected-system"`)
	res = b.get("/reports?channel=alert")
	mustContain(t, res.body, "2 reports")

	alerts, err := env.store.AlertsOfReports(ctx, nil)
	if err != nil || len(alerts) != 0 {
		t.Fatalf("AlertsOfReports(none) = %v, %v", alerts, err)
	}
	page, err := env.store.ListReports(ctx, incident.ReportQuery{Channels: []incident.Channel{incident.ChannelAlert}, Oldest: true})
	if err != nil || len(page.Reports) != 2 {
		t.Fatalf("alert reports: %d, %v", len(page.Reports), err)
	}
	bots := page.Reports[0]
	tag := env.openIncident(b, bots.ID)
	inc := env.incident(tag)
	if inc.Taxonomy != "malicious-code" || inc.Type != "infected-system" || inc.Severity != incident.SeverityCritical ||
		!slices.Equal(inc.OrgIDs, []int64{env.org.ID}) || inc.Kind != incident.KindMalware {
		t.Errorf("incident from the alert: %s/%s severity %s orgs %v kind %s, want malicious-code/infected-system, critical, Bank X",
			inc.Taxonomy, inc.Type, inc.Severity, inc.OrgIDs, inc.Kind)
	}
	mustContain(t, b.get("/incidents/"+tag).body, "Bank X", "malicious-code / infected-system")

	// A web report ticked first keeps its own classification.
	mixed := env.incident(env.openIncident(b, web.ReportID, page.Reports[1].ID))
	if mixed.Type != "phishing" || len(mixed.OrgIDs) != 0 {
		t.Errorf("incident from a web report and an alert: %s/%s orgs %v, want the web report's fraud/phishing", mixed.Taxonomy, mixed.Type, mixed.OrgIDs)
	}
}
