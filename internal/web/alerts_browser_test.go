package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/alert"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestBrowserAlertsInTheQueue: in headless Chromium, an analyst's triage
// queue shows a pipeline alert with its organisation, classification and
// counter.
func TestBrowserAlertsInTheQueue(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const password = "the analyst's long passphrase"
	addUser(t, st, "analyst", auth.RoleAnalyst, password)
	org := constituency.Organisation{Handle: "acme-bank", Name: "ACME Bank", Language: "en"}
	if err := st.CreateOrganisation(ctx, &org); err != nil {
		t.Fatal(err)
	}
	events := make([]*event.Event, 340)
	for i := range events {
		events[i] = storetest.Event(t, map[string]string{
			"time.source":             event.FormatTime(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)),
			"classification.taxonomy": "vulnerable",
			"classification.type":     "vulnerable-system",
			"feed.name":               "Shadowserver scan_rdp",
			"source.ip":               fmt.Sprintf("198.51.100.%d", 1+i%250),
			"source.port":             "3389",
		}, org.Handle)
	}
	storetest.Insert(t, st, events...)
	w := &alert.Worker{Events: st, Store: st.Alerts, Service: &incident.Service{Store: st, Audit: st}, Organisations: st,
		Rules: []alert.Rule{{Name: "Open RDP", Taxonomy: "vulnerable", Severity: incident.SeverityHigh}}}
	if n, err := w.RunOnce(ctx); err != nil || n != len(events) {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	srv := serveConsole(t, consoleConfig(t, st, "test"))
	tctx := startChromium(t, srv.URL+"/reports")
	logIn(t, tctx, "analyst", password, "reports")
	text := run(t, tctx, chromedp.Text(chromedp.ID("reports")))
	for _, want := range []string{"ACME Bank", "vulnerable / vulnerable-system", "340 matching events", "Severity: high", "Open RDP", "pipeline alert"} {
		if !strings.Contains(text, want) {
			t.Errorf("the queue lacks %q: %q", want, text)
		}
	}
	screenshot(t, tctx, "alerts-queue")
}
