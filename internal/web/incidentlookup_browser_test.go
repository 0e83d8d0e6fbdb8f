package web

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

// TestBrowserObservableLookup shows an incident's observables in
// headless Chromium as a table of what Vigil knows: the owners linked to
// their pages, the events counted and linked to their search, first and
// last seen, the values defanged and no link to them; the owner is then
// added to the organisations concerned with its button. The page passes
// axe-core.
func TestBrowserObservableLookup(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const password = "the analyst's long passphrase"
	addUser(t, st, "analyst", auth.RoleAnalyst, password)
	bank := constituency.Organisation{Handle: "bank", Name: "Secure Bank", Language: "en", Domains: []string{"secure-bank-login.com"}}
	isp := constituency.Organisation{Handle: "isp", Name: "Hosting Co", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}
	for _, o := range []*constituency.Organisation{&bank, &isp} {
		if err := st.CreateOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	var events []*event.Event
	for i, f := range []map[string]string{
		{"source.ip": "198.51.100.7", "source.port": "443"},
		{"source.ip": "198.51.100.7", "source.port": "80"},
		{"source.fqdn": "secure-bank-login.com", "source.url": "https://secure-bank-login.com/verify"},
	} {
		e := event.New(8)
		f["time.source"] = event.FormatTime(time.Date(2026, 2, 1+i, 9, 0, 0, 0, time.UTC))
		f["feed.name"], f["classification.taxonomy"], f["classification.type"] = "phishing", "fraud", "phishing"
		for k, v := range f {
			if err := e.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		events = append(events, e)
	}
	if _, err := st.InsertEvents(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	svc := &incident.Service{Store: st, Audit: st}
	var rec incident.Receipt
	for range 2 {
		text := "My bank asks me to log in at hxxps://secure-bank-login[.]com/verify (hosted on 198.51.100.7); they also called from +32 2 555 12 34"
		r := incident.Report{Channel: incident.ChannelWeb, Kind: incident.KindPhishing, Received: time.Now(), Text: text,
			Reporter: incident.Reporter{Name: "A citizen"}, Observables: extract.Find(text)}
		var err error
		if rec, err = svc.Receive(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	if !rec.Opened {
		t.Fatalf("the reports were not grouped: %+v", rec)
	}
	srv := serveConsole(t, consoleConfig(t, st, "test"))
	tctx := startChromium(t, srv.URL+"/incidents/"+rec.Tag.String())
	logIn(t, tctx, "analyst", password, "observables")
	axe := axeSource(t)
	runSteps(t,
		browserStep{"table", func(t *testing.T) {
			waitText(t, tctx, "#observables", "Secure Bank")
			text := run(t, tctx, chromedp.Text(chromedp.ID("observables")))
			for _, want := range []string{"hxxps://secure-bank-login[.]com/verify", "Hosting Co", "2 events", "1 event",
				"198.51.100[.]7", "not looked up", "network 198.51.100.0/24", "domain secure-bank-login.com"} {
				if !strings.Contains(text, want) {
					t.Errorf("the table lacks %q:\n%s", want, text)
				}
			}
			hrefs := run(t, tctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#observables a')).map(a => a.getAttribute('href'))`))
			for _, h := range hrefs {
				if !strings.HasPrefix(h, "/constituency/") && !strings.HasPrefix(h, "/events?") {
					t.Errorf("a link of the table leads out of Vigil: %q", h)
				}
			}
			if !strings.Contains(strings.Join(hrefs, " "), "/events?ip=198.51.100.7") {
				t.Errorf("no events search for the address: %q", hrefs)
			}
			axeCheck(t, tctx, axe, "incident observables", "en")
			screenshot(t, tctx, "incident-observables")
		}},
		browserStep{"add the owner", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID(fmt.Sprintf("add-owner-%d", bank.ID)))); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#incident-orgs", "Secure Bank")
			if text := run(t, tctx, chromedp.Text(chromedp.ID("owner-suggestions"))); strings.Contains(text, "Secure Bank") || !strings.Contains(text, "Hosting Co") {
				t.Errorf("suggestions after adding: %q", text)
			}
		}},
		browserStep{"the queue's owners", func(t *testing.T) {
			text := "A scan from 198.51.100.9 hit our web server"
			r := incident.Report{Channel: incident.ChannelWeb, Kind: incident.KindDoS, Received: time.Now(), Text: text,
				Reporter: incident.Reporter{Name: "A company"}, Observables: extract.Find(text)}
			if _, err := svc.Receive(ctx, &r); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/reports")); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#reports .report-owners", "Owner: Hosting Co")
			screenshot(t, tctx, "queue-owners")
		}},
	)
}
