package web

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/publication"
)

// TestBrowserPortalProducts: a constituent declares a product with the
// portal's form in headless Chromium, and finds the advisory that
// concerns it highlighted at the top of its advisories, with the product
// named; the advisory's page says so too.
func TestBrowserPortalProducts(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s not found: install Debian's chromium (apt-get install chromium) to run the browser test: %v", chromiumPath, err)
	}
	st := openStore(t)
	ctx := context.Background()
	org := constituency.Organisation{Handle: "uni-a", Name: "University A", Language: "en"}
	if err := st.CreateOrganisation(ctx, &org); err != nil {
		t.Fatal(err)
	}
	u := addUser(t, st, "carla", auth.RoleConstituent, "carla's long passphrase")
	u.OrgID = org.ID
	if err := st.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	ann, bob := addUser(t, st, "ann", auth.RolePublisher, "ann's long passphrase"), addUser(t, st, "bob", auth.RolePublisher, "bob's long passphrase")
	svc := &publication.Service{Store: st.Publications, Audit: st}
	publish := func(title string, prods ...publication.Product) string {
		c := publication.Content{Severity: "critical", TLP: publication.TLPClear, Products: prods, Texts: []publication.Text{
			{Lang: "en", Title: title, Summary: "Summary of " + title,
				Recommendations: []publication.Recommendation{{Kind: publication.RecommendPatch, Text: "Update to 2.4.59."}}},
			{Lang: "nl", Title: title + " (nl)"}, {Lang: "fr", Title: title + " (fr)"}}}
		p, err := svc.Create(ctx, publication.Actor{UserID: ann.ID, Name: ann.Name}, publication.KindAdvisory, c, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Submit(ctx, publication.Actor{UserID: ann.ID, Name: ann.Name}, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Approve(ctx, publication.Actor{UserID: bob.ID, Name: bob.Name}, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Publish(ctx, publication.Actor{UserID: bob.ID, Name: bob.Name}, p.ID); err != nil {
			t.Fatal(err)
		}
		return p.Ident
	}
	ours := publish("Apache HTTP Server request smuggling", publication.Product{Vendor: "Apache", Product: "HTTP Server",
		Versions: []publication.VersionRange{{Introduced: "2.4.0", Fixed: "2.4.59"}}})
	other := publish("Acme router flaw", publication.Product{Vendor: "Acme", Product: "Router"})

	srv := serveConsole(t, consoleConfig(t, st, "test"))
	tctx := startChromium(t, srv.URL+"/portal/products")
	logIn(t, tctx, "carla", "carla's long passphrase", "product-add")
	runSteps(t,
		browserStep{"declare a product", func(t *testing.T) {
			doInBrowser(t, tctx,
				chromedp.SendKeys(chromedp.ID("product-cpe"), "cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*"),
				chromedp.SendKeys(chromedp.ID("product-note"), "the web farm"),
				chromedp.Click(chromedp.ID("product-submit")),
				chromedp.WaitVisible(chromedp.ID("products")),
			)
			text := run(t, tctx, chromedp.Text(chromedp.ID("products")))
			if !strings.Contains(text, "http_server") || !strings.Contains(text, "the web farm") {
				t.Errorf("the products table: %q", text)
			}
			screenshot(t, tctx, "portal-products")
		}},
		browserStep{"the advisory that concerns it comes first", func(t *testing.T) {
			doInBrowser(t, tctx, chromedp.Navigate(srv.URL+"/portal/advisories"), chromedp.WaitVisible(chromedp.ID("concerning")))
			top := run(t, tctx, chromedp.Text(chromedp.ID("concerning")))
			if !strings.Contains(top, ours) || !strings.Contains(top, "apache http_server 2.4.58: affected (from 2.4.0, fixed in 2.4.59)") || strings.Contains(top, other) {
				t.Errorf("the concerning advisories: %q", top)
			}
			if rest := run(t, tctx, chromedp.Text(chromedp.ID("others"))); !strings.Contains(rest, other) {
				t.Errorf("the other advisories: %q", rest)
			}
			screenshot(t, tctx, "portal-advisories")
		}},
		browserStep{"the advisory's page", func(t *testing.T) {
			doInBrowser(t, tctx, chromedp.Click(`a[href="/portal/advisories/`+ours+`"]`), chromedp.WaitVisible(chromedp.ID("your-products")))
			if text := run(t, tctx, chromedp.Text(chromedp.ID("advisory-recommendations"))); !strings.Contains(text, "Patch: Update to 2.4.59.") {
				t.Errorf("the recommendations: %q", text)
			}
			screenshot(t, tctx, "portal-advisory")
		}},
	)
}

// doInBrowser runs browser actions, failing the test on an error.
func doInBrowser(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}
