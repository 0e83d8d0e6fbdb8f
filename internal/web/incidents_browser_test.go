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
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

// TestBrowserCaseHandling walks an analyst's case in headless Chromium:
// the triage queue with two reports, an incident opened from both, the
// playbook's tasks added and one completed, the incident moved to in
// progress, a note, resolved with a reason; the list then shows it.
func TestBrowserCaseHandling(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const password = "the analyst's long passphrase"
	addUser(t, st, "analyst", auth.RoleAnalyst, password)
	svc := &incident.Service{Store: st, Audit: st}
	var receipts []incident.Receipt
	for _, text := range []string{
		"I got a mail from my bank asking to log in at hxxps://secure-bank-login[.]com/verify",
		"SMS: your parcel is waiting, pay at https://parcel-fee.net/pay",
	} {
		r := incident.Report{Channel: incident.ChannelWeb, Kind: incident.KindPhishing, Received: time.Now(), Text: text,
			Reporter: incident.Reporter{Name: "A citizen"}, Observables: extract.Find(text)}
		rec, err := svc.Receive(ctx, &r)
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, rec)
	}
	srv := serveConsole(t, consoleConfig(t, st, "test"))
	tctx := startChromium(t, srv.URL+"/reports")
	logIn(t, tctx, "analyst", password, "reports")

	// click clicks the element with the id and waits until the element
	// sel holds want.
	click := func(t *testing.T, id, sel, want string) {
		t.Helper()
		if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID(id))); err != nil {
			t.Fatalf("click %s: %v", id, err)
		}
		waitText(t, tctx, sel, want)
	}
	runSteps(t,
		browserStep{"queue", func(t *testing.T) {
			text := run(t, tctx, chromedp.Text(chromedp.ID("reports")))
			for _, rec := range receipts {
				if !strings.Contains(text, rec.Tracking) {
					t.Errorf("the queue lacks %s: %q", rec.Tracking, text)
				}
			}
			screenshot(t, tctx, "cases-queue")
		}},
		browserStep{"open", func(t *testing.T) {
			err := chromedp.Do(tctx,
				chromedp.Click(chromedp.ID(fmt.Sprintf("select-%d", receipts[0].ReportID))),
				chromedp.Click(chromedp.ID(fmt.Sprintf("select-%d", receipts[1].ReportID))),
				chromedp.SendKeys(chromedp.ID("open-title"), "Bank and parcel phishing"),
			)
			if err != nil {
				t.Fatal(err)
			}
			click(t, "open-incident", "#incident-title", "Bank and parcel phishing")
			text := run(t, tctx, chromedp.Text(chromedp.ID("incident-reports")))
			if !strings.Contains(text, receipts[0].Tracking) || !strings.Contains(text, receipts[1].Tracking) {
				t.Errorf("the incident's reports: %q", text)
			}
		}},
		browserStep{"playbook", func(t *testing.T) {
			click(t, "playbook-submit", "#tasks", "Collect the full headers")
		}},
		browserStep{"complete a task", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#tasks .task-done"))); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#tasks", "done by analyst")
		}},
		browserStep{"in progress", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.SetValue(chromedp.ID("status-to"), "in_progress")); err != nil {
				t.Fatal(err)
			}
			click(t, "status-submit", "#incident-status", "in progress")
		}},
		browserStep{"note", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.SendKeys(chromedp.ID("note-text"), "Asked the registrar for a takedown.")); err != nil {
				t.Fatal(err)
			}
			click(t, "note-submit", "#timeline", "Asked the registrar for a takedown.")
		}},
		browserStep{"resolve", func(t *testing.T) {
			err := chromedp.Do(tctx,
				chromedp.SetValue(chromedp.ID("status-to"), "resolved"),
				chromedp.SendKeys(chromedp.ID("status-reason"), "both sites taken down"),
			)
			if err != nil {
				t.Fatal(err)
			}
			click(t, "status-submit", "#incident-status", "both sites taken down")
			screenshot(t, tctx, "cases-incident")
		}},
		browserStep{"list", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/incidents?status=all")); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#incidents", "Bank and parcel phishing")
			if text := run(t, tctx, chromedp.Text(chromedp.ID("incidents"))); !strings.Contains(text, "resolved") {
				t.Errorf("the list does not say resolved: %q", text)
			}
			screenshot(t, tctx, "cases-list")
		}},
		browserStep{"phone form", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/reports/new")); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#phone-form", "What happened")
			screenshot(t, tctx, "cases-phone")
		}},
	)
}

// waitText waits until the element sel exists and its text holds want;
// the page may still be loading when it is first asked.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for {
		if nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0))); err == nil && len(nodes) > 0 {
			if text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel))); err == nil {
				last = text
				if strings.Contains(text, want) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %q; last %q", sel, want, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserCaseAccessibility runs axe-core on the case pages, as
// TestBrowserAccessibility does on the rest of the console: the triage
// queue, the phone log, the incident list, an incident with tasks and a
// timeline, and an organisation's page listing its incidents, in English
// and in Dutch.
func TestBrowserCaseAccessibility(t *testing.T) {
	axe := axeSource(t)
	st := openStore(t)
	ctx := context.Background()
	org := constituency.Organisation{Handle: "bank-x", Name: "Bank X", Language: "en"}
	if err := st.CreateOrganisation(ctx, &org); err != nil {
		t.Fatal(err)
	}
	const password = "the analyst's long passphrase"
	for _, lang := range []string{"en", "nl"} {
		u := addUser(t, st, "analyst-"+lang, auth.RoleAnalyst, password)
		u.Language = lang
		if err := st.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	svc := &incident.Service{Store: st, Audit: st}
	a := incident.Actor{Name: "analyst-en"}
	var ids []int64
	for _, text := range []string{"phishing at https://bank-x-login.com/a", "a fake shop at https://cheap-shoes.net/", "spam"} {
		r := incident.Report{Channel: incident.ChannelEmail, Kind: incident.KindPhishing, Received: time.Now(), Text: text,
			Reporter: incident.Reporter{Email: "someone@mail.example"}, Observables: extract.Find(text)}
		rec, err := svc.Receive(ctx, &r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ReportID)
	}
	inc, err := svc.CreateIncident(ctx, a, incident.Incident{Title: "Bank X phishing", OrgIDs: []int64{org.ID}}, ids[:1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddPlaybookTasks(ctx, a, inc.ID, "en"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddNote(ctx, a, inc.ID, "Asked the host for a takedown."); err != nil {
		t.Fatal(err)
	}
	srv := serveConsole(t, consoleConfig(t, st, "test"))
	pages := []string{"/reports", "/reports?state=closed", "/reports/new", "/incidents", "/incidents?status=all&overdue=1",
		"/incidents/" + inc.Tag.String(), fmt.Sprintf("/constituency/%d", org.ID)}
	for _, lang := range []string{"en", "nl"} {
		t.Run(lang, func(t *testing.T) {
			tctx := startChromium(t, srv.URL+"/reports")
			logIn(t, tctx, "analyst-"+lang, password, "report-filter")
			for _, p := range pages {
				if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+p), chromedp.WaitVisible(chromedp.ID("content"))); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				axeCheck(t, tctx, axe, p, lang)
			}
			screenshot(t, tctx, "cases-organisation-"+lang)
		})
	}
}
