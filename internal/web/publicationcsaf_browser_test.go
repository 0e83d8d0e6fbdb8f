package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/console"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/csaf"
)

// TestBrowserPublicationFromCSAF uploads a vendor's TLP:AMBER CSAF
// document on the new-publication form in headless Chromium: the editor
// opens on an AMBER draft filled from it. A malformed one is refused on
// the same page with the JSON path of the field, the form still there.
func TestBrowserPublicationFromCSAF(t *testing.T) {
	st := openStore(t)
	const password = "the analyst's long passphrase"
	addUser(t, st, "analyst", auth.RoleAnalyst, password)
	cc := consoleConfig(t, st, "test")
	cc.Publications = console.PublicationPages{Service: &publication.Service{Store: st.Publications, Audit: st}}
	srv := serveConsole(t, cc)

	at := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	p := publication.Publication{
		Ident: "ACME-SA-2026-07", Kind: publication.KindAdvisory, Status: publication.StatusPublished, Revision: 1, Published: at, Updated: at,
		Content: publication.Content{
			Severity: "high", TLP: publication.TLPAmber,
			Texts: []publication.Text{{Lang: "en", Title: "Authentication bypass in Acme VPN",
				Summary: "An attacker can log in without a password."}},
			CVEs:     []string{"CVE-2026-31337"},
			Products: []publication.Product{{Vendor: "Acme", Product: "VPN", Versions: []publication.VersionRange{{Introduced: "5.0", Fixed: "5.2.1"}}}},
		},
	}
	doc, err := csaf.Document(p, csaf.Publisher{Name: "Acme PSIRT", Namespace: "https://acme.example"}, "en")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "acme-sa-2026-07.json"), filepath.Join(dir, "broken.json")
	if err := os.WriteFile(good, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(strings.Replace(string(doc), csaf.CategorySecurity, "csaf_base", 1)), 0o600); err != nil {
		t.Fatal(err)
	}

	tctx := startChromium(t, srv.URL+"/publications/new")
	logIn(t, tctx, "analyst", password, "publication-new-form")
	runSteps(t,
		browserStep{"import", func(t *testing.T) {
			err := chromedp.Do(tctx, chromedp.SetUploadFiles(chromedp.ID("new-cve"), []string{good}),
				chromedp.Click(chromedp.ID("new-submit")), chromedp.WaitVisible(chromedp.ID("publication-editor")))
			if err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#publication-status", "Draft")
			waitText(t, tctx, "#publication-tlp", "AMBER")
			if title := run(t, tctx, chromedp.Value(chromedp.ID("en-title"))); title != "Authentication bypass in Acme VPN" {
				t.Errorf("title %q", title)
			}
			if tlp := run(t, tctx, chromedp.Value(chromedp.ID("field-tlp"))); tlp != "AMBER" {
				t.Errorf("TLP field %q", tlp)
			}
			if vendor := run(t, tctx, chromedp.Value(chromedp.ID("p-vendor-0"))); vendor != "Acme" {
				t.Errorf("vendor %q", vendor)
			}
			screenshot(t, tctx, "publication-from-csaf")
		}},
		browserStep{"malformed", func(t *testing.T) {
			err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/publications/new"),
				chromedp.SetUploadFiles(chromedp.ID("new-cve"), []string{bad}),
				chromedp.Click(chromedp.ID("new-submit")), chromedp.WaitVisible(chromedp.ID("publication-problem")))
			if err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#publication-problem", "The CSAF document was refused at document/category")
			if n := run(t, tctx, chromedp.Evaluate[int](`document.querySelectorAll('#publication-new-form #new-cve').length`)); n != 1 {
				t.Errorf("the form is not shown again")
			}
		}},
	)
}
