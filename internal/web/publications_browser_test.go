package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/console"
	"github.com/vigil-cert/vigil/internal/publication"
)

// TestBrowserPublicationEditor writes an advisory in headless Chromium as
// an analyst: the new-publication form, the editor with its languages
// side by side, a product row added without JavaScript, a body whose
// Markdown is rendered and whose script is dropped from the preview, and
// the draft sent to review.
func TestBrowserPublicationEditor(t *testing.T) {
	st := openStore(t)
	const password = "the analyst's long passphrase"
	addUser(t, st, "analyst", auth.RoleAnalyst, password)
	cc := consoleConfig(t, st, "test")
	cc.Publications = console.PublicationPages{Service: &publication.Service{Store: st.Publications, Audit: st}}
	srv := serveConsole(t, cc)
	tctx := startChromium(t, srv.URL+"/publications/new")
	logIn(t, tctx, "analyst", password, "publication-new-form")
	runSteps(t,
		browserStep{"new", func(t *testing.T) {
			screenshot(t, tctx, "publication-new")
			err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("kind-advisory")),
				chromedp.SendKeys(chromedp.ID("new-title"), "Remote code execution in Acme Gateway"),
				chromedp.Click(chromedp.ID("new-submit")), chromedp.WaitVisible(chromedp.ID("publication-editor")))
			if err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#publication-status", "Draft")
			waitText(t, tctx, "#missing-nl", "missing")
		}},
		browserStep{"editor", func(t *testing.T) {
			err := chromedp.Do(tctx,
				chromedp.SendKeys(chromedp.ID("field-cves"), "CVE-2026-4242"),
				chromedp.SendKeys(chromedp.ID("field-cvss"), "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
				chromedp.SendKeys(chromedp.ID("p-vendor-0"), "Acme"),
				chromedp.SendKeys(chromedp.ID("p-product-0"), "Gateway"),
				chromedp.SendKeys(chromedp.ID("p-versions-0"), ">=2.0 <2.4"),
				chromedp.SendKeys(chromedp.ID("en-summary"), "An unauthenticated attacker runs code on the gateway."),
				chromedp.SendKeys(chromedp.ID("en-body"), "## What to do\n\nPatch. <script>window.ran = 1</script>"),
				chromedp.SendKeys(chromedp.ID("en-rec-patch"), "Update to 2.4."),
				chromedp.SendKeys(chromedp.ID("nl-title"), "Uitvoering van code op afstand in Acme Gateway"),
				chromedp.Click(chromedp.ID("add-product")),
				chromedp.WaitVisible(chromedp.ID("p-vendor-1")))
			if err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#preview-en h4", "What to do")
			if n := run(t, tctx, chromedp.Evaluate[int](`document.querySelectorAll('#preview-en script').length`)); n != 0 {
				t.Errorf("the preview holds %d script elements", n)
			}
			ran := run(t, tctx, chromedp.Evaluate[bool](`window.ran === 1`))
			if ran {
				t.Error("the body's script ran in the console")
			}
			vendor := run(t, tctx, chromedp.Value(chromedp.ID("p-vendor-0")))
			product := run(t, tctx, chromedp.Value(chromedp.ID("p-product-0")))
			versions := run(t, tctx, chromedp.Value(chromedp.ID("p-versions-0")))
			if vendor != "Acme" || product != "Gateway" || versions != ">=2.0 <2.4" {
				t.Errorf("the product row was not kept: %q %q %q", vendor, product, versions)
			}
			waitText(t, tctx, "#missing-fr", "missing")
			screenshot(t, tctx, "publication-editor")
		}},
		browserStep{"submit", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("action-submit"))); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#publication-status", "In review")
			if text := run(t, tctx, chromedp.Text(chromedp.ID("history"))); !strings.Contains(text, "sent to review") {
				t.Errorf("history %q", text)
			}
			if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/publications")); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#count-review", "1")
			screenshot(t, tctx, "publication-list")
		}},
	)
}
