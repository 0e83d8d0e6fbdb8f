package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/products"
)

// publishAdvisory writes, has a second person approve and publishes an
// advisory of products with tlp; it returns its ident. draft leaves it a
// draft.
func (e *portalEnv) publishAdvisory(title string, tlp publication.TLP, draft bool, prods ...publication.Product) string {
	e.t.Helper()
	ctx := e.t.Context()
	svc := &publication.Service{Store: e.store.Publications, Audit: e.store}
	actor := func(name string) publication.Actor {
		u := e.user(name)
		return publication.Actor{UserID: u.ID, Name: u.Name}
	}
	c := publication.Content{Severity: "high", TLP: tlp, Products: prods, Texts: []publication.Text{
		{Lang: "en", Title: title, Summary: "Summary of " + title, Body: "The body <script>alert(1)</script>",
			Recommendations: []publication.Recommendation{{Kind: publication.RecommendPatch, Text: "Update."}}},
		{Lang: "nl", Title: title + " (nl)", Summary: "Samenvatting"},
		{Lang: "fr", Title: title + " (fr)", Summary: "Résumé"},
	}}
	p, err := svc.Create(ctx, actor("analyst"), publication.KindAdvisory, c, "")
	if err != nil {
		e.t.Fatal(err)
	}
	if draft {
		return p.Ident
	}
	if _, err := svc.Submit(ctx, actor("analyst"), p.ID); err != nil {
		e.t.Fatal(err)
	}
	if _, err := svc.Approve(ctx, actor("admin"), p.ID); err != nil {
		e.t.Fatal(err)
	}
	if _, err := svc.Publish(ctx, actor("admin"), p.ID); err != nil {
		e.t.Fatal(err)
	}
	return p.Ident
}

var httpd = publication.Product{Vendor: "Apache", Product: "HTTP Server",
	Versions: []publication.VersionRange{{Introduced: "2.4.0", Fixed: "2.4.59"}}}

// section returns the part of a page from the element with id on to the
// end of the first table or section that follows.
func section(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	end := len(rest)
	for _, close := range []string{"</table>", "</section>"} {
		if j := strings.Index(rest, close); j >= 0 && j < end {
			end = j
		}
	}
	return rest[:end]
}

func TestPortalProductsAndAdvisories(t *testing.T) {
	env := newPortalEnv(t)
	ca, cb := env.browser(), env.browser()
	ca.login("ca", portalPassword)
	cb.login("cb", portalPassword)

	// A declares its web server by hand, B imports a file.
	ca.get("/portal/products")
	r := ca.post("/portal/products", url.Values{"cpe": {"cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*"}, "note": {"web farm"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "1 product added.<") || !strings.Contains(r.body, "1 product declared ·") ||
		!strings.Contains(r.body, "web farm") || strings.Contains(r.body, "%!") {
		t.Fatalf("adding a product: %d\n%.2000s", r.status, r.body)
	}
	cb.get("/portal/products")
	r = cb.postMultipart("/portal/products/import", url.Values{}, "file", "products.csv",
		[]byte("vendor,product,version\nMoodle,Moodle,4.1\nApache,HTTP Server,2.4.59\n"))
	if r.status != http.StatusOK || !strings.Contains(r.body, "2 products added.<") || strings.Contains(r.body, "%!") {
		t.Fatalf("importing: %d\n%.2000s", r.status, r.body)
	}

	clear := env.publishAdvisory("Request smuggling", publication.TLPClear, false, httpd)
	amber := env.publishAdvisory("Amber httpd flaw", publication.TLPAmber, false, httpd)
	green := env.publishAdvisory("Green router flaw", publication.TLPGreen, false, publication.Product{Product: "Router"})
	red := env.publishAdvisory("Red httpd flaw", publication.TLPRed, false, httpd)
	draft := env.publishAdvisory("Draft httpd flaw", publication.TLPClear, true, httpd)

	// The AMBER advisory opens to A only once the constituents channel
	// told A of it: declaring a matching product is not enough, as an
	// organisation declares what it likes.
	if r := ca.get("/portal/advisories/" + amber); r.status != http.StatusNotFound {
		t.Errorf("A reads the AMBER advisory before it was told of it: %d", r.status)
	}
	if strings.Contains(ca.get("/portal/advisories").body, amber) {
		t.Error("A's list shows the AMBER advisory before it was told of it")
	}
	amberPub, err := env.store.Publications.GetPublicationByIdent(t.Context(), amber)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.store.Products.Tell(t.Context(), amberPub.ID, amberPub.Revision, env.orgs["uni-a"].ID, nil); err != nil {
		t.Fatal(err)
	}
	a := ca.get("/portal/advisories")
	if a.status != http.StatusOK {
		t.Fatalf("A's advisories: %d", a.status)
	}
	concerning, others := section(a.body, "concerning"), section(a.body, "others")
	for _, want := range []string{clear, amber, "apache http_server 2.4.58: affected (from 2.4.0, fixed in 2.4.59)"} {
		if !strings.Contains(concerning, want) {
			t.Errorf("A's concerning advisories lack %q:\n%s", want, concerning)
		}
	}
	if !strings.Contains(others, green) || strings.Contains(others, clear) {
		t.Errorf("A's other advisories:\n%s", others)
	}
	for _, never := range []string{red, draft} {
		if strings.Contains(a.body, never) {
			t.Errorf("A sees %s", never)
		}
	}
	b := cb.get("/portal/advisories")
	// B runs the fixed version: nothing concerns it, and the AMBER
	// advisory is not for it.
	if !strings.Contains(b.body, `id="noconcerning"`) || !strings.Contains(section(b.body, "others"), clear) || !strings.Contains(b.body, green) {
		t.Errorf("B's advisories:\n%.3000s", b.body)
	}
	for _, never := range []string{amber, red, draft, "2.4.58", "web farm"} {
		if strings.Contains(b.body, never) {
			t.Errorf("B's advisories show %q", never)
		}
	}

	t.Run("one advisory", func(t *testing.T) {
		r := ca.get("/portal/advisories/" + amber)
		if r.status != http.StatusOK || !strings.Contains(r.body, "TLP:AMBER") || !strings.Contains(r.body, `id="your-products"`) ||
			!strings.Contains(r.body, "Patch: Update.") {
			t.Errorf("A's AMBER advisory: %d\n%.3000s", r.status, r.body)
		}
		if strings.Contains(r.body, "<script>alert(1)</script>") || !strings.Contains(r.body, `id="advisory-body"`) {
			t.Error("the body is not shown, or not sanitized")
		}
		if r := cb.get("/portal/advisories/" + clear); r.status != http.StatusOK || strings.Contains(r.body, `id="your-products"`) {
			t.Errorf("B's CLEAR advisory: %d", r.status)
		}
	})

	t.Run("another organisation's advisory answers as a missing one", func(t *testing.T) {
		missing := cb.get("/portal/advisories/VIGIL-1999-0001")
		for _, ident := range []string{amber, red, draft} {
			r := cb.get("/portal/advisories/" + ident)
			if r.status != http.StatusNotFound || r.status != missing.status {
				t.Errorf("B reading %s: %d, a missing one %d", ident, r.status, missing.status)
			}
			if strings.Contains(r.body, "flaw") {
				t.Errorf("B reading %s sees its title", ident)
			}
		}
	})

	t.Run("another organisation's declaration answers as a missing one", func(t *testing.T) {
		list, err := env.store.Products.ListDeclarations(t.Context(), env.orgs["uni-a"].ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("A's declarations: %v, %v", list, err)
		}
		id := strconv.FormatInt(list[0].ID, 10)
		cb.get("/portal/products")
		r := cb.post("/portal/products/"+id+"/delete", url.Values{})
		missing := cb.post("/portal/products/99999/delete", url.Values{})
		if r.status != http.StatusNotFound || missing.status != http.StatusNotFound {
			t.Errorf("B deleting A's declaration: %d (a missing one: %d)", r.status, missing.status)
		}
		if n, _ := env.store.Products.CountDeclarations(t.Context(), env.orgs["uni-a"].ID); n != 1 {
			t.Errorf("A has %d declarations after B's try", n)
		}
		// An organisation named in the form is no field: the product is B's.
		cb.get("/portal/products")
		cb.post("/portal/products", url.Values{"product": {"Smuggled"}, "org": {strconv.FormatInt(env.orgs["uni-a"].ID, 10)},
			"org_id": {strconv.FormatInt(env.orgs["uni-a"].ID, 10)}})
		if n, _ := env.store.Products.CountDeclarations(t.Context(), env.orgs["uni-a"].ID); n != 1 {
			t.Errorf("B's post added to A: %d", n)
		}
		if page := ca.get("/portal/products"); strings.Contains(page.body, "Smuggled") || strings.Contains(page.body, "Moodle") {
			t.Error("A's products page shows B's declarations")
		}
		export := cb.get("/portal/products/export.csv")
		if !strings.Contains(export.body, "Smuggled") || strings.Contains(export.body, "http_server:2.4.58") {
			t.Errorf("B's export:\n%s", export.body)
		}
		// A removes its own.
		ca.get("/portal/products")
		if r := ca.post("/portal/products/"+id+"/delete", url.Values{}); r.status != http.StatusSeeOther {
			t.Errorf("A removing its declaration: %d", r.status)
		}
		if r := ca.get("/portal/products?done=product-removed"); !strings.Contains(r.body, "The product was removed.") || !strings.Contains(r.body, `id="noproducts"`) {
			t.Errorf("after the removal:\n%.2000s", r.body)
		}
		// The AMBER advisory concerned A through that declaration: now A
		// may not read it either.
		if r := ca.get("/portal/advisories/" + amber); r.status != http.StatusNotFound {
			t.Errorf("A reading the AMBER advisory without a matching product: %d", r.status)
		}
	})

	t.Run("bad input gives a clear error", func(t *testing.T) {
		cb.get("/portal/products")
		r := cb.post("/portal/products", url.Values{"cpe": {"cpe:2.3:a:apache"}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "not a valid CPE 2.3 name") || !strings.Contains(r.body, `value="cpe:2.3:a:apache"`) {
			t.Errorf("a bad CPE: %d\n%.2000s", r.status, r.body)
		}
		r = cb.postMultipart("/portal/products/import", url.Values{}, "file", "p.csv", []byte("purl\npkg:npm/x\nnpm/y\n"))
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Entry 2: This is not a valid Package URL") {
			t.Errorf("a bad import: %d\n%.2000s", r.status, r.body)
		}
		if n, _ := env.store.Products.CountDeclarations(t.Context(), env.orgs["uni-b"].ID); n != 3 {
			t.Errorf("B has %d declarations after refusals, want 3", n)
		}
	})

	t.Run("the team has no portal", func(t *testing.T) {
		analyst := env.browser()
		analyst.login("analyst", "the analyst's passphrase")
		for _, path := range []string{"/portal/products", "/portal/advisories", "/portal/advisories/" + clear} {
			if r := analyst.get(path); r.status != http.StatusForbidden {
				t.Errorf("analyst GET %s: %d", path, r.status)
			}
		}
		nobody := env.browser()
		nobody.login("nobody", portalPassword)
		if r := nobody.get("/portal/products"); r.status != http.StatusForbidden {
			t.Errorf("a constituent without an organisation: %d", r.status)
		}
	})
}

func TestOrganisationPageListsDeclaredProducts(t *testing.T) {
	env := newPortalEnv(t)
	a := env.orgs["uni-a"]
	if _, err := env.store.Products.AddDeclarations(t.Context(), a.ID, []products.Declaration{
		{PURL: "pkg:npm/left-pad@1.3.0", Note: "intranet"}, {Vendor: "Apache", Product: "HTTP Server", Version: "2.4.58"}}); err != nil {
		t.Fatal(err)
	}
	analyst := env.browser()
	analyst.login("analyst", "the analyst's passphrase")
	page := section(analyst.get("/constituency/"+strconv.FormatInt(a.ID, 10)).body, "org-products")
	for _, want := range []string{"pkg:npm/left-pad@1.3.0", "intranet", "Apache HTTP Server 2.4.58"} {
		if !strings.Contains(page, want) {
			t.Errorf("the organisation's products lack %q:\n%s", want, page)
		}
	}
	if b := section(analyst.get("/constituency/"+strconv.FormatInt(env.orgs["uni-b"].ID, 10)).body, "org-products"); !strings.Contains(b, "declared no product") {
		t.Errorf("B's products:\n%s", b)
	}
}
