package web

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
)

// TestBrowserFalsePositive: an analyst opens an event's page in headless
// Chromium, marks its observation a false positive with a reason, sees
// the mark (reason, who), and removes it again.
func TestBrowserFalsePositive(t *testing.T) {
	st := openStore(t)
	const password = "the analyst's long passphrase"
	addUser(t, st, "analyst", auth.RoleAnalyst, password)
	ev := testEvent(t, "",
		"time.source", "2026-11-20T03:00:00Z", "feed.name", "shadowserver-scan-dns",
		"classification.taxonomy", "vulnerable", "classification.type", "ddos-amplifier",
		"classification.identifier", "open-dns", "source.ip", "192.0.2.53", "source.port", "53")
	insertEvents(t, st, ev)
	srv := serveConsole(t, consoleConfig(t, st, "test"))
	page := srv.URL + "/events/" + ev.Hash().String()
	tctx := startChromium(t, page)
	logIn(t, tctx, "analyst", password, "fp-form")

	runSteps(t,
		browserStep{"mark", func(t *testing.T) {
			screenshot(t, tctx, "event-actions")
			err := chromedp.Do(tctx,
				chromedp.SendKeys(chromedp.ID("fp-reason-input"), "A resolver of our own test network"),
				chromedp.Click(chromedp.ID("fp-mark-button")),
			)
			if err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#fp-mark", "A resolver of our own test network")
			text := run(t, tctx, chromedp.Text(chromedp.ID("fp-mark")))
			if !strings.Contains(text, "Marked by analyst") {
				t.Errorf("the mark: %q", text)
			}
			if notice := run(t, tctx, chromedp.Text(chromedp.CSS("p.notice"))); !strings.Contains(notice, "false positive") {
				t.Errorf("the notice: %q", notice)
			}
			marks, err := st.GetFalsePositives(context.Background(), []event.Hash{notify.Key(ev)})
			if err != nil || len(marks) != 1 {
				t.Fatalf("marks stored: %v, %v", marks, err)
			}
			screenshot(t, tctx, "event-false-positive")
		}},
		browserStep{"the search flags it", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/events?ip=192.0.2.53")); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#results .fp-flag", "False positive")
			screenshot(t, tctx, "events-false-positive")
			if err := chromedp.Do(tctx, chromedp.Navigate(page)); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#fp-mark", "A resolver")
		}},
		browserStep{"remove", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("fp-remove"))); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "p.notice", "mark was removed")
			if n := run(t, tctx, chromedp.Nodes(chromedp.CSSAll("#fp-mark"), chromedp.AtLeast(0))); len(n) != 0 {
				t.Error("the mark is still shown")
			}
		}},
	)
}
