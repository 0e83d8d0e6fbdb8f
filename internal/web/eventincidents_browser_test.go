package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestBrowserIncidentFromEvents walks an analyst in headless Chromium
// from the events search to an incident: a search, two of its rows
// ticked, an incident opened from them, which lists both; then a third
// event added from its own page.
func TestBrowserIncidentFromEvents(t *testing.T) {
	st := openStore(t)
	const password = "the analyst's long passphrase"
	addUser(t, st, "analyst", auth.RoleAnalyst, password)
	org := constituency.Organisation{Handle: "univ-a", Name: "University A", Language: "en"}
	if err := st.CreateOrganisation(context.Background(), &org); err != nil {
		t.Fatal(err)
	}
	var events []*event.Event
	var hashes []string
	for i, ip := range []string{"192.0.2.21", "192.0.2.22", "192.0.2.23"} {
		e := testEvent(t, "", "time.source", event.FormatTime(time.Date(2026, 3, 1, 9, i, 0, 0, time.UTC)), "feed.name", "sinkhole",
			"classification.taxonomy", "malicious-code", "classification.type", "infected-system", "source.ip", ip,
			"malware.name", "emotet")
		e.SetTrusted(store.ConstituencyField, `["univ-a"]`)
		events = append(events, e)
		hashes = append(hashes, e.Hash().String())
	}
	insertEvents(t, st, events...)
	srv := serveConsole(t, consoleConfig(t, st, "test"))
	tctx := startChromium(t, srv.URL+"/events")
	logIn(t, tctx, "analyst", password, "search")

	tick := func(t *testing.T, hash string) {
		t.Helper()
		if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(`input.event-select[value="`+hash+`"]`))); err != nil {
			t.Fatalf("tick %s: %v", hash, err)
		}
	}
	var tag string
	runSteps(t,
		browserStep{"search", func(t *testing.T) {
			err := chromedp.Do(tctx, chromedp.SendKeys(chromedp.ID("feed"), "sinkhole"), chromedp.Click(chromedp.ID("search")))
			if err != nil {
				t.Fatal(err)
			}
			if rows := searchRows(t, tctx, "feed=sinkhole"); len(rows) != 3 {
				t.Fatalf("%d rows, want 3", len(rows))
			}
		}},
		browserStep{"tick two and open an incident", func(t *testing.T) {
			tick(t, hashes[0])
			tick(t, hashes[2])
			if err := chromedp.Do(tctx, chromedp.SendKeys(chromedp.ID("event-incident-title"), "Emotet at University A")); err != nil {
				t.Fatal(err)
			}
			screenshot(t, tctx, "events-actions")
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("event-open-incident"))); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#incident-title", "Emotet at University A")
			text := run(t, tctx, chromedp.Text(chromedp.ID("incident-events")))
			if !strings.Contains(text, "192.0.2.21") || !strings.Contains(text, "192.0.2.23") || strings.Contains(text, "192.0.2.22") {
				t.Errorf("the incident's events: %q", text)
			}
			waitText(t, tctx, "#incident-orgs", "University A")
			waitText(t, tctx, "#timeline", "2 events")
			tag = run(t, tctx, chromedp.Text(chromedp.CSS("#incident-heading .mono")))
			screenshot(t, tctx, "incident-events")
		}},
		browserStep{"add one from its page", func(t *testing.T) {
			err := chromedp.Do(tctx,
				chromedp.Navigate(srv.URL+"/events/"+hashes[1]),
				chromedp.WaitVisible(chromedp.ID("event-actions")),
				chromedp.SendKeys(chromedp.ID("event-incident-tag"), tag),
			)
			if err != nil {
				t.Fatal(err)
			}
			screenshot(t, tctx, "event-actions")
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("event-add-incident"))); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#incident-events", "192.0.2.22")
			waitText(t, tctx, "#events", "(3)")
		}},
		browserStep{"an event page leads back", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(`#incident-events a[href="/events/`+hashes[0]+`"]`))); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#hash", hashes[0])
		}},
	)
}
