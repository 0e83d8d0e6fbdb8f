package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
)

// TestProductsNotConfigured: a console given no products' stores
// (Config.Products left zero) says so on the portal's products and
// advisories pages, in the reader's language, and on an organisation's
// page, rather than failing or pretending there are none.
func TestProductsNotConfigured(t *testing.T) {
	env := newEnv(t, func(cfg *Config) { cfg.Products = ProductPages{} })
	ctx := t.Context()
	org := constituency.Organisation{Handle: "uni-a", Name: "University A", Language: "nl"}
	if err := env.store.CreateOrganisation(ctx, &org); err != nil {
		t.Fatal(err)
	}
	u, err := auth.NewUser("ca", "ca@a.example", auth.RoleConstituent, portalPassword, "nl")
	if err != nil {
		t.Fatal(err)
	}
	u.OrgID = org.ID
	if err := env.store.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")

	constituent := env.browser()
	constituent.login("ca", portalPassword)
	for _, path := range []string{"/portal/products", "/portal/advisories", "/portal/advisories/VIGIL-2026-0001"} {
		r := constituent.get(path)
		if r.status != http.StatusNotImplemented || !strings.Contains(r.body, "houdt de opgegeven producten van de achterban niet bij") {
			t.Errorf("%s: %d, want 501 saying so in Dutch:\n%s", path, r.status, r.body)
		}
	}
	if r := constituent.post("/portal/products", url.Values{"product": {"Moodle"}}); r.status != http.StatusNotImplemented {
		t.Errorf("declaring a product: %d, want 501", r.status)
	}

	analyst := env.browser()
	analyst.login("analyst", "the analyst's passphrase")
	page := section(analyst.get("/constituency/"+strconv.FormatInt(org.ID, 10)).body, "org-products")
	if !strings.Contains(page, "does not keep the constituents&#39; declared products") || strings.Contains(page, "declared no product") {
		t.Errorf("the organisation's products:\n%s", page)
	}
}
