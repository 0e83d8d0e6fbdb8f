package console

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/markdown"
	"github.com/vigil-cert/vigil/internal/publication/products"
	"github.com/vigil-cert/vigil/internal/store"
)

// The portal's products and advisories (issue 13): a constituent
// declares the products its organisation runs, imports and exports
// them, and reads the advisories it may see, those that concern its
// products first. What it may see is decided in package products
// (AdvisoriesFor, AdvisoryFor, and the declarations' store, whose every
// query names the organisation); these handlers pass them the
// organisation the constituent middleware resolved from the signed-in
// user, never one from the request.

// Message IDs of the portal's products and advisories pages.
const (
	msgTitlePortalProducts   = "title.portal.products"
	msgTitlePortalAdvisories = "title.portal.advisories"
	msgTitlePortalAdvisory   = "title.portal.advisory"
	msgProductsRemoved       = "products.portal.removed"
)

func init() {
	flashes["product-removed"] = msgProductsRemoved
}

// portalProductRoutes registers the pages whether or not the products
// are configured (Config.Products): without them, each says so.
func (c *Console) portalProductRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /portal/products", c.constituent(c.withProducts(c.portalProducts)))
	m.HandleFunc("POST /portal/products", c.constituent(c.withProducts(c.portalAddProduct)))
	m.HandleFunc("POST /portal/products/import", c.constituentUpTo(products.MaxFileBytes+64<<10, c.withProducts(c.portalImportProducts)))
	m.HandleFunc("GET /portal/products/export.csv", c.constituent(c.withProducts(c.portalExportProducts)))
	m.HandleFunc("POST /portal/products/{id}/delete", c.constituent(c.withProducts(c.portalRemoveProduct)))
	m.HandleFunc("GET /portal/advisories", c.constituent(c.withProducts(c.portalAdvisories)))
	m.HandleFunc("GET /portal/advisories/{ident}", c.constituent(c.withProducts(c.portalAdvisory)))
}

// portalProductsPage is the data of the portal's products page.
type portalProductsPage struct {
	Organisation constituency.Organisation
	Declarations []products.Declaration
	Max          int
	// Form is what was typed in the add form, kept after a refusal.
	Form products.Declaration
	// Added is how many the last import or add stored, -1 for none.
	Added int
	// Examples are a CPE name and a Package URL, Columns the file's
	// columns: data, shown as code.
	Examples []string
	Columns  string
}

func (c *Console) showPortalProducts(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation, status int, p portalProductsPage, flash, problem string) {
	decls := c.products.Declarations
	list, err := decls.ListDeclarations(r.Context(), org.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Organisation, p.Declarations, p.Max = org, list, products.MaxPerOrganisation
	p.Examples = []string{"cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*", "pkg:npm/left-pad@1.3.0"}
	p.Columns = strings.Join(products.Columns, ", ")
	if p.Added > 0 {
		flash = c.catalog.Plural(v.lang, "products.portal.added", p.Added)
	}
	c.render(w, r, v, status, "portal_products", msgTitlePortalProducts, p, flash, problem)
}

func (c *Console) portalProducts(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	c.showPortalProducts(w, r, v, org, http.StatusOK, portalProductsPage{}, flashOf(r), "")
}

// refusal translates a refusal of package products (a
// *publication.InputError); ok is false for any other error.
func (c *Console) refusal(v *visit, err error) (string, bool) {
	var ie *publication.InputError
	if !errors.As(err, &ie) {
		return "", false
	}
	return ie.Message.In(c.catalog, v.lang), true
}

func (c *Console) portalAddProduct(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	decls := c.products.Declarations
	d := products.Declaration{CPE: r.PostFormValue("cpe"), PURL: r.PostFormValue("purl"), Vendor: r.PostFormValue("vendor"),
		Product: r.PostFormValue("product"), Version: r.PostFormValue("version"), Note: r.PostFormValue("note"), AddedBy: v.user.Name}
	form := d
	n, err := decls.AddDeclarations(r.Context(), org.ID, []products.Declaration{d})
	if msg, ok := c.refusal(v, err); ok {
		c.showPortalProducts(w, r, v, org, http.StatusBadRequest, portalProductsPage{Form: form}, "", msg)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.logger.Info("portal: product declared", "user", v.user.Name, "org", org.Handle, "added", n)
	c.showPortalProducts(w, r, v, org, http.StatusOK, portalProductsPage{Added: n}, "", "")
}

func (c *Console) portalImportProducts(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	decls := c.products.Declarations
	bad := func(msg string) {
		c.showPortalProducts(w, r, v, org, http.StatusBadRequest, portalProductsPage{}, "", msg)
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		bad(c.catalog.T(v.lang, "products.err.import.empty"))
		return
	}
	defer file.Close()
	list, err := products.ReadFile(file, v.user.Name)
	if msg, ok := c.refusal(v, err); ok {
		bad(msg)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	add := decls.AddDeclarations
	if r.PostFormValue("replace") == "on" {
		add = decls.ReplaceDeclarations
	}
	n, err := add(r.Context(), org.ID, list)
	if msg, ok := c.refusal(v, err); ok {
		bad(msg)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.logger.Info("portal: products imported", "user", v.user.Name, "org", org.Handle, "added", n, "replace", r.PostFormValue("replace") == "on")
	c.showPortalProducts(w, r, v, org, http.StatusOK, portalProductsPage{Added: n}, "", "")
}

func (c *Console) portalExportProducts(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	decls := c.products.Declarations
	list, err := decls.ListDeclarations(r.Context(), org.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	var b bytes.Buffer
	if err := products.WriteCSV(&b, list); err != nil {
		c.fail(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+org.Handle+`-products.csv"`)
	_, _ = w.Write(b.Bytes())
}

func (c *Console) portalRemoveProduct(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	decls := c.products.Declarations
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.notFound(w, r, v)
		return
	}
	// Another organisation's declaration answers as a missing one: the
	// store deletes only under org.ID.
	err = decls.DeleteDeclaration(r.Context(), org.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	redirectDone(w, r, "/portal/products", "product-removed")
}

// portalAdvisoriesPage is the data of the portal's advisories.
type portalAdvisoriesPage struct {
	Organisation constituency.Organisation
	Concerning   []portalAdvisoryRow
	Others       []portalAdvisoryRow
	Declared     bool
}

// portalAdvisoryRow is an advisory in the portal's list, in the reader's
// language, with its matches said in it.
type portalAdvisoryRow struct {
	Ident, Title, Summary, Severity string
	TLP                             publication.TLP
	Published                       time.Time
	Matches                         []string
}

// termText is the catalogue's word for a severity or a kind of
// recommendation (prefix "products.severity." or
// "products.recommend."), or the value itself when the catalogue has
// none (a team's own scale).
func (c *Console) termText(lang, prefix, value string) string {
	if c.catalog.Has(prefix + value) {
		return c.catalog.T(lang, prefix+value)
	}
	return value
}

// matchTexts says each match in lang.
func (c *Console) matchTexts(lang string, ms []products.Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = products.DescribeMatch(c.catalog, lang, m)
	}
	return out
}

func (c *Console) portalAdvisories(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	decls, pubs := c.products.Declarations, c.products.Publications
	list, err := products.AdvisoriesFor(r.Context(), pubs, decls, org.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	n, err := decls.CountDeclarations(r.Context(), org.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := portalAdvisoriesPage{Organisation: org, Declared: n > 0}
	for _, a := range list {
		text, _ := a.Text(v.lang)
		row := portalAdvisoryRow{Ident: a.Ident, Title: text.Title, Summary: text.Summary,
			Severity: c.termText(v.lang, "products.severity.", a.Severity), TLP: a.TLP,
			Published: a.Published, Matches: c.matchTexts(v.lang, a.Matches)}
		if a.Concerning() {
			p.Concerning = append(p.Concerning, row)
		} else {
			p.Others = append(p.Others, row)
		}
	}
	c.render(w, r, v, http.StatusOK, "portal_advisories", msgTitlePortalAdvisories, p, "", "")
}

// portalAdvisoryPage is the data of one advisory in the portal, in the
// reader's language (or the advisory's first).
type portalAdvisoryPage struct {
	Organisation constituency.Organisation
	Advisory     products.OrganisationAdvisory
	Text         publication.Text
	Matches      []string
	Severity     string
	// Body is the text's Markdown, rendered and sanitized.
	Body template.HTML
	// Recommendations are the text's, each after its kind.
	Recommendations []string
	// Products says each affected product and its versions.
	Products []string
}

func (c *Console) portalAdvisory(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	decls, pubs := c.products.Declarations, c.products.Publications
	a, err := products.AdvisoryFor(r.Context(), pubs, decls, org.ID, r.PathValue("ident"))
	// An advisory the organisation may not see answers exactly like a
	// missing one.
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	text, _ := a.Text(v.lang)
	p := portalAdvisoryPage{Organisation: org, Advisory: a, Text: text, Matches: c.matchTexts(v.lang, a.Matches),
		Severity: c.termText(v.lang, "products.severity.", a.Severity), Body: markdown.Render(text.Body)}
	for _, rec := range text.Recommendations {
		p.Recommendations = append(p.Recommendations, c.catalog.T(v.lang, "products.mail.item", c.termText(v.lang, "products.recommend.", rec.Kind), rec.Text))
	}
	for _, prod := range a.Products {
		p.Products = append(p.Products, c.describeProduct(v.lang, prod))
	}
	c.render(w, r, v, http.StatusOK, "portal_advisory", msgTitlePortalAdvisory, p, "", "")
}

// describeProduct says an affected product and its versions in lang.
func (c *Console) describeProduct(lang string, p publication.Product) string {
	name := strings.TrimSpace(p.Vendor + " " + p.Product)
	if name == "" {
		name = p.CPE + p.PURL
	}
	if len(p.Versions) == 0 {
		return name + ": " + products.DescribeRange(c.catalog, lang, nil)
	}
	var ranges []string
	for i := range p.Versions {
		ranges = append(ranges, products.DescribeRange(c.catalog, lang, &p.Versions[i]))
	}
	return name + ": " + strings.Join(ranges, "; ")
}
