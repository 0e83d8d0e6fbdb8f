package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/incident"
)

// TestBrowserReportForm walks the public report form in headless
// Chromium as a citizen would, without an account: choose what happened,
// read its tips, attach a forwarded mail, send, read the tracking number
// and open the private status link. Each page passes the accessibility
// check.
func TestBrowserReportForm(t *testing.T) {
	axe := axeSource(t)
	st := openStore(t)
	cc := consoleConfig(t, st, "test")
	// A person in a test browser fills the form in faster than anyone
	// could; the form's age check is the console tests'.
	cc.ReportForm.MinAge = time.Nanosecond
	cc.ReportForm.Elsewhere = map[string]string{"nl": "Doe aangifte bij de politie: bel 0800 12345."}
	srv := serveConsole(t, cc)
	eml := filepath.Join(t.TempDir(), "forward.eml")
	mail := "From: security@bank-secure.be\r\nTo: jan@example.org\r\nSubject: Uw rekening\r\n\r\nMeld u aan op http://bank-secure.be/login\r\n"
	if err := os.WriteFile(eml, []byte(mail), 0o600); err != nil {
		t.Fatal(err)
	}
	program := filepath.Join(t.TempDir(), "factuur.exe")
	if err := os.WriteFile(program, []byte("MZ\x90\x00 not a report"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := startChromium(t, "about:blank")
	setAcceptLanguage(t, ctx, "nl")
	var tracking, link string
	runSteps(t,
		browserStep{"login page links to the form", func(t *testing.T) {
			err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("name")),
				chromedp.Click(chromedp.CSS("#report-link a")), chromedp.WaitVisible(chromedp.ID("report-form")))
			if err != nil {
				t.Fatalf("from the login page to the form: %v", err)
			}
		}},
		browserStep{"form", func(t *testing.T) {
			if got := run(t, ctx, chromedp.Text(chromedp.ID("elsewhere"))); got != "Doe aangifte bij de politie: bel 0800 12345." {
				t.Errorf("where to go instead: %q", got)
			}
			err := chromedp.Do(ctx,
				chromedp.Click(chromedp.ID("kind-phishing")),
				chromedp.Click(chromedp.CSS("#tips-phishing summary")),
				chromedp.WaitVisible(chromedp.CSS("#tips-phishing p")),
			)
			if err != nil {
				t.Fatalf("choose and read the tips: %v", err)
			}
			if tips := run(t, ctx, chromedp.Text(chromedp.CSS("#tips-phishing p"))); !strings.Contains(tips, "Klik niet op de links") {
				t.Errorf("phishing tips in Dutch: %q", tips)
			}
			axeCheck(t, ctx, axe, "/report", "nl")
		}},
		browserStep{"a file refused", func(t *testing.T) {
			err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.ID("concerned"), "hxxp://bank-secure[.]be/login"),
				chromedp.SendKeys(chromedp.ID("text"), "Een mail van mijn bank vroeg me in te loggen."),
				chromedp.SendKeys(chromedp.ID("email"), "jan@example.org"),
				chromedp.SetUploadFiles(chromedp.ID("files"), []string{program}),
				chromedp.Click(chromedp.ID("send")),
				chromedp.WaitVisible(chromedp.ID("problems")),
			)
			if err != nil {
				t.Fatalf("send a program: %v", err)
			}
			if got := run(t, ctx, chromedp.Text(chromedp.ID("problems"))); !strings.Contains(got, "Het bestand factuur.exe aanvaarden wij niet") || strings.Contains(got, "%!") {
				t.Errorf("refusal %q", got)
			}
			// What was written is still there; only the file is to choose again.
			if got := run(t, ctx, chromedp.Value(chromedp.ID("text"))); got != "Een mail van mijn bank vroeg me in te loggen." {
				t.Errorf("text after the refusal: %q", got)
			}
			axeCheck(t, ctx, axe, "/report (refused)", "nl")
		}},
		browserStep{"send", func(t *testing.T) {
			err := chromedp.Do(ctx,
				chromedp.SetUploadFiles(chromedp.ID("files"), []string{eml}),
				chromedp.Click(chromedp.ID("send")),
				chromedp.WaitVisible(chromedp.ID("tracking")),
			)
			if err != nil {
				t.Fatalf("send the form: %v", err)
			}
			tracking = run(t, ctx, chromedp.Text(chromedp.ID("tracking")))
			link = run(t, ctx, chromedp.AttributeValue(chromedp.ID("status-link"), "href")).Value
			if !strings.HasPrefix(tracking, "R-") || !strings.Contains(link, "t=") {
				t.Fatalf("tracking %q, link %q", tracking, link)
			}
			axeCheck(t, ctx, axe, "/report (sent)", "nl")
			rep, err := st.GetReportByTracking(context.Background(), tracking)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Kind != incident.KindPhishing || len(rep.Attachments) != 1 || rep.Attachments[0].ContentType != "message/rfc822" ||
				rep.Language != "nl" || rep.Concerned != "hxxp://bank-secure[.]be/login" {
				t.Errorf("stored report %+v", rep)
			}
		}},
		browserStep{"status", func(t *testing.T) {
			err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("status-link")), chromedp.WaitVisible(chromedp.ID("report-status")))
			if err != nil {
				t.Fatalf("open the status link: %v", err)
			}
			if got := run(t, ctx, chromedp.Text(chromedp.ID("tracking"))); got != tracking {
				t.Errorf("status of %q, want %q", got, tracking)
			}
			if got := run(t, ctx, chromedp.Text(chromedp.ID("state"))); got != "Ontvangen: ze wacht op een analist." {
				t.Errorf("state %q", got)
			}
			axeCheck(t, ctx, axe, "/report/status", "nl")
		}},
		browserStep{"wrong token", func(t *testing.T) {
			err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/report/status/"+tracking+"?t=wrong"), chromedp.WaitVisible(chromedp.CSS(".problem")))
			if err != nil {
				t.Fatalf("a wrong token: %v", err)
			}
			if got := run(t, ctx, chromedp.Text(chromedp.CSS(".problem"))); !strings.Contains(got, "Wij kennen geen melding") {
				t.Errorf("a wrong token: %q", got)
			}
		}},
	)
}
