package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication/products"
)

// declare stores declarations for the organisation of handle and
// returns them with their ids.
func (f *fixture) declare(handle string, ds ...products.Declaration) []products.Declaration {
	f.t.Helper()
	org, err := f.store.GetOrganisationByHandle(f.t.Context(), handle)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.store.Products.AddDeclarations(f.t.Context(), org.ID, ds); err != nil {
		f.t.Fatal(err)
	}
	return ds
}

// productCalls are the products routes' successful calls for
// TestOpenAPIMatchesRoutes (after f.constituency and f.teamData): the
// replaces reach lab and uni-b (productCallUsers), the deletes uni-a's
// declarations, which the replaces leave.
func (f *fixture) productCalls() map[string]struct {
	path, body string
	status     int
} {
	ds := f.declare("uni-a", products.Declaration{Product: "Team deletes this"}, products.Declaration{Product: "ca deletes this"})
	org, err := f.store.GetOrganisationByHandle(f.t.Context(), "uni-a")
	if err != nil {
		f.t.Fatal(err)
	}
	team := "/organisations/" + strconv.FormatInt(org.ID, 10) + "/products/" + strconv.FormatInt(ds[0].ID, 10)
	file := `[{"cpe":"cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*"},{"vendor":"Moodle","product":"Moodle","version":"4.1"}]`
	return map[string]struct {
		path, body string
		status     int
	}{
		"PUT /organisations/{id}/products":                  {body: file},
		"POST /organisations/{id}/products":                 {body: `{"purl":"pkg:npm/left-pad@1.3.0"}`, status: http.StatusCreated},
		"DELETE /organisations/{id}/products/{declaration}": {path: team, status: http.StatusNoContent},
		"PUT /constituent/products":                         {body: file},
		"POST /constituent/products":                        {body: `{"product":"Canvas"}`, status: http.StatusCreated},
		"DELETE /constituent/products/{id}":                 {path: "/constituent/products/" + strconv.FormatInt(ds[1].ID, 10), status: http.StatusNoContent},
	}
}

// productCallUsers are the users of productCalls that are not the
// default: cb replaces uni-b's declarations, so that uni-a's stay for
// ca to delete.
var productCallUsers = map[string]string{"PUT /constituent/products": "cb"}

// productListOf decodes a list of declarations and checks it against the
// document's schema.
func productListOf(t *testing.T, r response) productListJSON {
	t.Helper()
	checkSchema(t, "ProductList", r.body)
	return decode[productListJSON](t, r)
}

func identifiers(list []declarationJSON) string {
	var out []string
	for _, d := range list {
		switch {
		case d.CPE != "":
			out = append(out, d.CPE)
		case d.PURL != "":
			out = append(out, d.PURL)
		default:
			out = append(out, strings.TrimSpace(d.Vendor+" "+d.Product+" "+d.Version))
		}
	}
	return strings.Join(out, ";")
}

// wantRefusal checks a refusal of the declarations' rules: 400, code
// bad_input, the field at fault named as the parameter, a message.
func wantRefusal(t *testing.T, r response, field string) {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; body %s", r.status, r.body)
	}
	checkSchema(t, "Error", r.body)
	e := errorOf(t, r)
	if e.Error.Code != "bad_input" || e.Error.Parameter != field || e.Error.Message == "" || catalogueKey.MatchString(e.Error.Message) {
		t.Errorf("refusal %+v, want bad_input of %s", e.Error, field)
	}
}

// TestProductsOfTheTeam: the team lists, replaces (with a file in the
// CLI's format, JSON or CSV), adds and deletes an organisation's
// declared products, each change audited.
func TestProductsOfTheTeam(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.teamData()
	lab := "/organisations/" + strconv.FormatInt(d.lab.ID, 10) + "/products"

	if got := productListOf(t, f.get(lab, "ana")); got.Organisation != "lab" || len(got.Declarations) != 0 || got.Max != products.MaxPerOrganisation {
		t.Fatalf("before: %+v", got)
	}
	t.Run("replace with a JSON file", func(t *testing.T) {
		r := f.sendJSON("PUT", lab, "ana", `[{"cpe":"cpe:2.3:a:Apache:http_server:2.4.58:*:*:*:*:*:*:*","note":"web"},{"product":"Moodle","version":"4.1"}]`)
		got := productListOf(t, r)
		if got.Added == nil || *got.Added != 2 || identifiers(got.Declarations) != "cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*;Moodle 4.1" {
			t.Errorf("after the replace: %s", r.body)
		}
		if got.Declarations[0].Kind != "cpe" || got.Declarations[0].Vendor != "apache" || got.Declarations[0].AddedBy != "ana" {
			t.Errorf("the CPE declaration: %+v", got.Declarations[0])
		}
		if a := f.lastAudit(); a.Action != "products.replace" || a.Target != "lab" || !strings.Contains(a.Detail, "API token") {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("replace with a CSV file", func(t *testing.T) {
		r := f.do("PUT", lab, "ana", strings.NewReader("purl,note\npkg:npm/left-pad@1.3.0,build\n"), "Content-Type", "text/csv; charset=utf-8")
		if got := productListOf(t, r); identifiers(got.Declarations) != "pkg:npm/left-pad@1.3.0" || got.Declarations[0].Note != "build" {
			t.Errorf("after the CSV replace: %s", r.body)
		}
	})
	var added declarationJSON
	t.Run("add one", func(t *testing.T) {
		r := f.sendJSON("POST", lab, "ana", `{"vendor":"Microsoft","product":"Exchange Server","version":"2019 CU13"}`)
		if r.status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		checkSchema(t, "Product", r.body)
		if err := json.Unmarshal(r.body, &added); err != nil || added.ID == 0 || added.Kind != "name" {
			t.Fatalf("%+v %v", added, err)
		}
		if loc := r.header.Get("Location"); loc != "/api/v1"+lab+"/"+strconv.FormatInt(added.ID, 10) {
			t.Errorf("Location %q", loc)
		}
		if a := f.lastAudit(); a.Action != "products.add" || a.Target != "lab" || !strings.Contains(a.Detail, "Exchange Server") {
			t.Errorf("audit %+v", a)
		}
		// Declared again, in another case: the stored one, not a second.
		again := f.sendJSON("POST", lab, "ana", `{"vendor":"microsoft","product":"exchange server","version":"2019 cu13"}`)
		if got := decode[declarationJSON](t, again); got.ID != added.ID {
			t.Errorf("declared again: %s", again.body)
		}
		if got := productListOf(t, f.get(lab, "ana")); len(got.Declarations) != 2 {
			t.Errorf("after adding one twice: %s", identifiers(got.Declarations))
		}
	})
	t.Run("delete one", func(t *testing.T) {
		one := lab + "/" + strconv.FormatInt(added.ID, 10)
		if r := f.do("DELETE", one, "ana", nil); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if a := f.lastAudit(); a.Action != "products.delete" || a.Target != "lab" {
			t.Errorf("audit %+v", a)
		}
		wantError(t, f.do("DELETE", one, "ana", nil), http.StatusNotFound, "not_found", "")
		wantError(t, f.do("DELETE", lab+"/x", "ana", nil), http.StatusBadRequest, "bad_parameter", "declaration")
	})
	t.Run("an empty list deletes them all", func(t *testing.T) {
		if got := productListOf(t, f.sendJSON("PUT", lab, "ana", `[]`)); len(got.Declarations) != 0 || got.Added == nil || *got.Added != 0 {
			t.Errorf("after an empty replace: %+v", got)
		}
	})
	t.Run("an unknown organisation", func(t *testing.T) {
		wantError(t, f.get("/organisations/999999/products", "ana"), http.StatusNotFound, "not_found", "")
		wantError(t, f.sendJSON("POST", "/organisations/999999/products", "ana", `{"product":"x"}`), http.StatusNotFound, "not_found", "")
	})
	t.Run("a publisher may not", func(t *testing.T) {
		wantError(t, f.get(lab, "pub"), http.StatusForbidden, "forbidden", "")
	})
}

// TestProductsRefused: malformed input is refused with the field named
// and nothing stored; the bounds hold.
func TestProductsRefused(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.teamData()
	f.constituency()
	lab := "/organisations/" + strconv.FormatInt(d.lab.ID, 10) + "/products"
	f.declare("lab", products.Declaration{Product: "Kept"})
	tests := []struct {
		name, method, path, user, body, param string
	}{
		{"a CPE that does not parse", "POST", lab, "ana", `{"cpe":"cpe:2.3:a:apache"}`, "cpe"},
		{"a Package URL that does not parse", "POST", lab, "ana", `{"purl":"npm/left-pad"}`, "purl"},
		{"both", "POST", lab, "ana", `{"cpe":"cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*","purl":"pkg:npm/x"}`, "cpe"},
		{"no product", "POST", lab, "ana", `{"vendor":"Apache"}`, "product"},
		{"a note too long", "POST", lab, "ana", `{"product":"x","note":"` + strings.Repeat("n", products.MaxNoteBytes+1) + `"}`, "note"},
		{"a file's bad CPE", "PUT", lab, "ana", `[{"product":"fine"},{"cpe":"cpe:2.3:a:apache:http_server:2.4.58"}]`, "cpe"},
		{"a file's bad Package URL", "PUT", lab, "ana", `[{"purl":"pkg:npm/ok@1"},{"purl":"pkg:"}]`, "purl"},
		{"a file that is not one", "PUT", lab, "ana", `{"product":"x"}`, "file"},
		{"a constituent's bad CPE", "POST", "/constituent/products", "ca", `{"cpe":"cpe:2.3:x:apache:http_server"}`, "cpe"},
		{"a constituent's file's bad Package URL", "PUT", "/constituent/products", "ca", `[{"purl":"left-pad"}]`, "purl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRefusal(t, f.sendJSON(tt.method, tt.path, tt.user, tt.body), tt.param)
		})
	}
	t.Run("an unknown field", func(t *testing.T) {
		wantError(t, f.sendJSON("POST", lab, "ana", `{"product":"x","colour":"red"}`), http.StatusBadRequest, "bad_parameter", "colour")
	})
	if got := productListOf(t, f.get(lab, "ana")); identifiers(got.Declarations) != "Kept" {
		t.Errorf("after the refusals: %s", identifiers(got.Declarations))
	}
	t.Run("the entry is named, in the caller's language", func(t *testing.T) {
		r := f.do("PUT", lab, "ana", strings.NewReader(`[{"product":"fine"},{"cpe":"cpe:2.3:a:apache"}]`),
			"Content-Type", "application/json", "Accept-Language", "fr")
		e := errorOf(t, r)
		if e.Error.Parameter != "cpe" || !strings.Contains(e.Error.Message, "2") || !strings.Contains(e.Error.Message, "CPE") ||
			!strings.Contains(e.Error.Message, "valide") {
			t.Errorf("refusal %+v", e.Error)
		}
	})
	t.Run("a body that is neither JSON nor CSV", func(t *testing.T) {
		r := f.do("PUT", lab, "ana", strings.NewReader("product\nx\n"), "Content-Type", "text/plain")
		wantError(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	})
	t.Run("a body larger than a file may be", func(t *testing.T) {
		big := "product,note\n" + strings.Repeat("x,"+strings.Repeat("n", 400)+"\n", products.MaxFileBytes/400+10)
		r := f.do("PUT", lab, "ana", strings.NewReader(big), "Content-Type", "text/csv")
		wantError(t, r, http.StatusRequestEntityTooLarge, "body_too_large", "")
	})
	t.Run("more entries than an organisation may declare", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("product\n")
		for i := range products.MaxPerOrganisation + 1 {
			b.WriteString("p" + strconv.Itoa(i) + "\n")
		}
		r := f.do("PUT", lab, "ana", strings.NewReader(b.String()), "Content-Type", "text/csv")
		wantRefusal(t, r, "body")
	})
	if got := productListOf(t, f.get(lab, "ana")); identifiers(got.Declarations) != "Kept" {
		t.Errorf("after the refusals: %s", identifiers(got.Declarations))
	}
}

// TestProductsOfAConstituent is the attacker's view: a constituent's
// token reaches its own organisation's declarations through
// /constituent/products only; the team's routes refuse it whatever
// organisation they name, another organisation's declaration answers
// like a missing one, and nothing of the other organisation changes.
func TestProductsOfAConstituent(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	mine := f.declare("uni-a", products.Declaration{Product: "Moodle"})
	theirs := f.declare("uni-b", products.Declaration{Product: "Canvas", Note: "their secret"})
	orgID := func(handle string) string {
		o, err := f.store.GetOrganisationByHandle(t.Context(), handle)
		if err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(o.ID, 10)
	}
	a, b := orgID("uni-a"), orgID("uni-b")

	t.Run("its own", func(t *testing.T) {
		got := productListOf(t, f.get("/constituent/products", "ca"))
		if got.Organisation != "uni-a" || identifiers(got.Declarations) != "Moodle" {
			t.Errorf("ca's list: %+v", got)
		}
		r := f.sendJSON("POST", "/constituent/products", "ca", `{"purl":"pkg:npm/left-pad@1.3.0"}`)
		if r.status != http.StatusCreated || !strings.HasPrefix(r.header.Get("Location"), "/api/v1/constituent/products/") {
			t.Fatalf("add: %d %s", r.status, r.body)
		}
		if a := f.lastAudit(); a.Action != "products.add" || a.Target != "uni-a" || a.Actor != "ca" {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("the team's routes are refused, for another organisation and its own", func(t *testing.T) {
		for _, org := range []string{a, b} {
			path := "/organisations/" + org + "/products"
			wantError(t, f.get(path, "ca"), http.StatusForbidden, "forbidden", "")
			wantError(t, f.sendJSON("PUT", path, "ca", `[{"product":"Owned"}]`), http.StatusForbidden, "forbidden", "")
			wantError(t, f.sendJSON("POST", path, "ca", `{"product":"Owned"}`), http.StatusForbidden, "forbidden", "")
			wantError(t, f.do("DELETE", path+"/"+strconv.FormatInt(theirs[0].ID, 10), "ca", nil), http.StatusForbidden, "forbidden", "")
		}
	})
	t.Run("no parameter names another organisation", func(t *testing.T) {
		wantError(t, f.get("/constituent/products?org="+b, "ca"), http.StatusBadRequest, "bad_parameter", "org")
		wantError(t, f.sendJSON("POST", "/constituent/products?org="+b, "ca", `{"product":"x"}`), http.StatusBadRequest, "bad_parameter", "org")
		wantError(t, f.sendJSON("POST", "/constituent/products", "ca", `{"product":"x","org_id":`+b+`}`), http.StatusBadRequest, "bad_parameter", "org_id")
	})
	t.Run("another organisation's declaration is not found", func(t *testing.T) {
		r := f.do("DELETE", "/constituent/products/"+strconv.FormatInt(theirs[0].ID, 10), "ca", nil)
		missing := f.do("DELETE", "/constituent/products/999999", "ca", nil)
		wantError(t, r, http.StatusNotFound, "not_found", "")
		if string(r.body) != string(missing.body) {
			t.Errorf("another's declaration answers %s, a missing one %s", r.body, missing.body)
		}
	})
	t.Run("a replace reaches its own organisation only", func(t *testing.T) {
		if got := productListOf(t, f.sendJSON("PUT", "/constituent/products", "ca", `[{"product":"Owned"}]`)); identifiers(got.Declarations) != "Owned" {
			t.Errorf("ca's list after its replace: %s", identifiers(got.Declarations))
		}
	})
	got := productListOf(t, f.get("/organisations/"+b+"/products", "ana"))
	if identifiers(got.Declarations) != "Canvas" || got.Declarations[0].Note != "their secret" || got.Declarations[0].ID != theirs[0].ID {
		t.Errorf("uni-b's declarations after ca's tries: %s", identifiers(got.Declarations))
	}
	if list, _ := f.store.Products.ListDeclarations(t.Context(), mine[0].OrgID); len(list) != 1 || list[0].Product != "Owned" {
		t.Errorf("uni-a's declarations: %+v", list)
	}
	t.Run("a team token is not a constituent", func(t *testing.T) {
		wantError(t, f.get("/constituent/products", "ana"), http.StatusForbidden, "forbidden", "")
	})
	t.Run("an account without an organisation", func(t *testing.T) {
		wantError(t, f.get("/constituent/products", "lost"), http.StatusForbidden, "no_organisation", "")
	})
}

// TestProductsNotKept: without the declarations' store the routes say
// so.
func TestProductsNotKept(t *testing.T) {
	f := newFixture(t, fixtureOptions{noProducts: true})
	f.constituency()
	wantError(t, f.get("/constituent/products", "ca"), http.StatusNotImplemented, "not_implemented", "")
}
