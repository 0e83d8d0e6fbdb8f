package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/incident"
)

// TestBrowserPortalIncidents has a constituent report an incident from its
// portal in headless Chromium, with a forwarded mail attached, and follow
// it: the tracking number on the answer, the report in its list with the
// incidents of its organisation and none of another's, and an incident's
// page with its outcome.
func TestBrowserPortalIncidents(t *testing.T) {
	axe := axeSource(t)
	st := openStore(t)
	seedPortal(t, st)
	ctx0 := context.Background()
	svc := &incident.Service{Store: st, Audit: st}
	team := incident.Actor{Name: "analyst"}
	orgA, err := st.GetOrganisationByHandle(ctx0, "uni-a")
	if err != nil {
		t.Fatal(err)
	}
	orgB, err := st.GetOrganisationByHandle(ctx0, "uni-b")
	if err != nil {
		t.Fatal(err)
	}
	own, err := svc.CreateIncident(ctx0, team, incident.Incident{Title: "Phishing kit on University A's web server", OrgIDs: []int64{orgA.ID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transition(ctx0, team, own.ID, incident.StatusResolved, "The kit was removed and the server cleaned."); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateIncident(ctx0, team, incident.Incident{Title: "Botnet at University B", OrgIDs: []int64{orgB.ID}}, nil); err != nil {
		t.Fatal(err)
	}
	eml := filepath.Join(t.TempDir(), "forward.eml")
	mail := "From: it-desk@uni-a-support.com\r\nTo: staff@uni-a.example\r\nSubject: Mailbox full\r\n\r\nLog in at http://uni-a-support.com/owa\r\n"
	if err := os.WriteFile(eml, []byte(mail), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := serveConsole(t, consoleConfig(t, st, "test"))
	ctx := startChromium(t, srv.URL+"/")
	logIn(t, ctx, "carla", "carla's long passphrase", "results")
	var tracking string
	runSteps(t,
		browserStep{"report an incident from the portal", func(t *testing.T) {
			err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`header nav a[href="/portal/reports/new"]`)),
				chromedp.WaitVisible(chromedp.ID("report-form")),
			)
			if err != nil {
				t.Fatalf("open the form: %v", err)
			}
			axeCheck(t, ctx, axe, "/portal/reports/new", "en")
			screenshot(t, ctx, "portal-report")
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.ID("kind-phishing")),
				chromedp.SendKeys(chromedp.ID("subject"), "Mailbox-full phishing to our staff"),
				chromedp.SendKeys(chromedp.ID("concerned"), "hxxp://uni-a-support[.]com/owa"),
				chromedp.SendKeys(chromedp.ID("text"), "Forty colleagues got this mail this morning."),
				chromedp.SetUploadFiles(chromedp.ID("files"), []string{eml}),
				chromedp.Click(chromedp.ID("send")),
				chromedp.WaitVisible(chromedp.ID("tracking")),
			)
			if err != nil {
				t.Fatalf("send the report: %v", err)
			}
			tracking = run(t, ctx, chromedp.Text(chromedp.ID("tracking")))
			if !strings.HasPrefix(tracking, "R-") {
				t.Fatalf("tracking number %q", tracking)
			}
			axeCheck(t, ctx, axe, "/portal/reports/new (sent)", "en")
			screenshot(t, ctx, "portal-report-done")
		}},
		browserStep{"the organisation's incidents and reports", func(t *testing.T) {
			err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("to-incidents")), chromedp.WaitVisible(chromedp.ID("incidents")))
			if err != nil {
				t.Fatalf("open the list: %v", err)
			}
			incidents := run(t, ctx, chromedp.Text(chromedp.ID("incidents")))
			reports := run(t, ctx, chromedp.Text(chromedp.ID("reports")))
			if !strings.Contains(incidents, "Phishing kit on University A's web server") || !strings.Contains(incidents, "resolved") ||
				strings.Contains(incidents, "University B") {
				t.Errorf("incidents listed: %q", incidents)
			}
			if !strings.Contains(reports, tracking) || !strings.Contains(reports, "Mailbox-full phishing to our staff") || !strings.Contains(reports, "new") {
				t.Errorf("reports listed: %q", reports)
			}
			axeCheck(t, ctx, axe, "/portal/incidents", "en")
			screenshot(t, ctx, "portal-incidents")
		}},
		browserStep{"an incident's page", func(t *testing.T) {
			err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#incidents a[href="/portal/incidents/`+own.Tag.String()+`"]`)),
				chromedp.WaitVisible(chromedp.ID("incident-status")))
			if err != nil {
				t.Fatalf("open the incident: %v", err)
			}
			if reason := run(t, ctx, chromedp.Text(chromedp.ID("incident-reason"))); reason != "The kit was removed and the server cleaned." {
				t.Errorf("outcome %q", reason)
			}
			axeCheck(t, ctx, axe, "/portal/incidents/{tag}", "en")
			screenshot(t, ctx, "portal-incident")
		}},
	)
}
