package console

import (
	"bytes"
	"html/template"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/csaf"
)

// vendorAdvisory is a TLP:AMBER CSAF document as a vendor's provider
// would publish it, written by the CSAF package for the test.
func vendorAdvisory(t *testing.T, kind publication.Kind) string {
	t.Helper()
	at := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	p := publication.Publication{
		Ident: "ACME-SA-2026-07", Kind: kind, Status: publication.StatusPublished, Revision: 1, Published: at, Updated: at,
		Content: publication.Content{
			Severity: "high", TLP: publication.TLPAmber,
			Texts: []publication.Text{{Lang: "en", Title: "Authentication bypass in Acme VPN",
				Summary:         "An attacker can log in without a password.",
				Body:            "The login form trusts a header the client sets.",
				Recommendations: []publication.Recommendation{{Kind: publication.RecommendPatch, Text: "Install 5.2.1."}}}},
			CVEs:       []string{"CVE-2026-31337"},
			CVSS:       []publication.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", Score: 9.1, Severity: "critical"}},
			Products:   []publication.Product{{Vendor: "Acme", Product: "VPN", Versions: []publication.VersionRange{{Introduced: "5.0", Fixed: "5.2.1"}}}},
			References: []publication.Reference{{URL: "https://acme.example/sa/2026-07", Title: "Acme advisory"}},
		},
	}
	data, err := csaf.Document(p, csaf.Publisher{Name: "Acme PSIRT", Namespace: "https://acme.example"}, "en")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// postImport uploads a file on the new-publication form, with kind.
func postImport(t *testing.T, b *browser, kind, name, content string) response {
	t.Helper()
	return postImportAt(t, b, kind, "CLEAR", name, content)
}

// postImportAt uploads a file on the new-publication form, with kind and
// the label chosen.
func postImportAt(t *testing.T, b *browser, kind, tlp, name, content string) response {
	t.Helper()
	b.get("/publications/new")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"csrf": b.csrf, "kind": kind, "tlp": tlp, "severity": "low"} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("cve", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(content))
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, b.env.server.URL+"/publications/new", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// TestPublicationFromCSAF: the new-publication form's upload takes a
// CSAF document as it takes a CVE record, drafts an advisory at the
// document's TLP (AMBER here, whatever the form says) and opens it; the
// creation is audited.
func TestPublicationFromCSAF(t *testing.T) {
	env := newPublicationEnv(t)
	b := env.analyst()
	mustContain(t, b.get("/publications/new").body, `id="new-cve"`, "CSAF")
	res := postImport(t, b, "advisory", "acme-sa-2026-07.json", vendorAdvisory(t, publication.KindAdvisory))
	if res.status != http.StatusSeeOther {
		t.Fatalf("upload: status %d: %.600s", res.status, res.body)
	}
	page := strings.SplitN(res.location, "?", 2)[0]
	p := env.publication(page)
	if p.Kind != publication.KindAdvisory || p.TLP != publication.TLPAmber || p.Source != "csaf:ACME-SA-2026-07" || p.Severity != "high" {
		t.Errorf("draft %s, TLP %s, source %q, severity %s", p.Kind, p.TLP, p.Source, p.Severity)
	}
	if p.Status != publication.StatusDraft || p.Author != "analyst" {
		t.Errorf("status %s, author %q", p.Status, p.Author)
	}
	if len(p.Texts) != 1 || p.Texts[0].Lang != "en" || p.Texts[0].Title != "Authentication bypass in Acme VPN" ||
		p.Texts[0].Summary != "An attacker can log in without a password." || len(p.Texts[0].Recommendations) != 1 {
		t.Errorf("texts %+v", p.Texts)
	}
	if len(p.CVEs) != 1 || p.CVEs[0] != "CVE-2026-31337" || len(p.CVSS) != 1 || p.CVSS[0].Score != 9.1 {
		t.Errorf("CVEs %v CVSS %+v", p.CVEs, p.CVSS)
	}
	if len(p.Products) != 1 || p.Products[0].Vendor != "Acme" || p.Products[0].Product != "VPN" || len(p.Products[0].Versions) != 1 ||
		p.Products[0].Versions[0].Fixed != "5.2.1" {
		t.Errorf("products %+v", p.Products)
	}
	// The editor opens on the draft.
	mustContain(t, b.get(page).body, "Authentication bypass in Acme VPN", "CVE-2026-31337", `value="Acme"`)
	// A label stricter than the document's wins; a CVE record takes the
	// label chosen.
	for _, c := range []struct {
		name, tlp, content string
		want               publication.TLP
	}{
		{"acme.json", "RED", vendorAdvisory(t, publication.KindAdvisory), publication.TLPRed},
		{"cve.json", "AMBER+STRICT", cveRecord, publication.TLPAmberStrict},
		{"cve.json", "GREEN", cveRecord, publication.TLPGreen},
	} {
		res := postImportAt(t, b, "advisory", c.tlp, c.name, c.content)
		if res.status != http.StatusSeeOther {
			t.Fatalf("upload at %s: status %d: %.300s", c.tlp, res.status, res.body)
		}
		if p := env.publication(strings.SplitN(res.location, "?", 2)[0]); p.TLP != c.want {
			t.Errorf("%s uploaded at %s: a %s draft", c.name, c.tlp, p.TLP)
		}
	}
	if res := postImportAt(t, b, "advisory", "PURPLE", "cve.json", cveRecord); res.status != http.StatusUnprocessableEntity {
		t.Errorf("an upload at an unknown label: status %d", res.status)
	}
	if !contains(env.auditActions(), "publication.create") {
		t.Errorf("the import is not audited: %v", env.auditActions())
	}

	// An informational advisory is a warning, or news when the form says so.
	info := vendorAdvisory(t, publication.KindWarning)
	for kind, want := range map[string]publication.Kind{"advisory": publication.KindWarning, "news": publication.KindNews} {
		res := postImport(t, b, kind, "info.json", info)
		if res.status != http.StatusSeeOther {
			t.Fatalf("informational (%s): status %d: %.600s", kind, res.status, res.body)
		}
		if p := env.publication(strings.SplitN(res.location, "?", 2)[0]); p.Kind != want || p.TLP != publication.TLPAmber {
			t.Errorf("informational, form %s: %s at TLP:%s, want %s", kind, p.Kind, p.TLP, want)
		}
	}

	// A CVE record on the same field still drafts from the record.
	if res := postImport(t, b, "advisory", "CVE-2026-7777.json", cveRecord); res.status != http.StatusSeeOther ||
		env.publication(strings.SplitN(res.location, "?", 2)[0]).Source != "cve:CVE-2026-7777" {
		t.Errorf("CVE record: status %d: %.300s", res.status, res.body)
	}

	// Who may not write publications may not import one.
	constituent := env.browser()
	constituent.login("constituent", casePassword)
	if res := postImport(t, constituent, "advisory", "acme.json", vendorAdvisory(t, publication.KindAdvisory)); res.status != http.StatusForbidden {
		t.Errorf("constituent upload: status %d", res.status)
	}
}

// TestPublicationFromCSAFRefused: a malformed document is refused on
// the same page, the form shown again, with the JSON path of the field
// that is wrong, in the reader's language; nothing is drafted.
func TestPublicationFromCSAFRefused(t *testing.T) {
	env := newPublicationEnv(t)
	cat := i18n.Embedded()
	good := vendorAdvisory(t, publication.KindAdvisory)
	for _, c := range []struct {
		name, doc, field, inner string
		args                    []any
	}{
		{"bad CVE", strings.Replace(good, `"cve": "CVE-2026-31337"`, `"cve": "CVE-31337"`, 1), "vulnerabilities/0/cve", "csaf.error.schema", nil},
		{"title of the wrong type", strings.Replace(good, `"title": "Authentication bypass in Acme VPN"`, `"title": 42`, 1), "document/title", "csaf.error.type", []any{"document/title", i18n.M("csaf.json.number")}},
		{"another category", strings.Replace(good, csaf.CategorySecurity, "csaf_base", 1), "document/category", "csaf.error.category", []any{"csaf_base"}},
	} {
		for _, lang := range []string{"en", "nl", "de"} {
			t.Run(c.name+"/"+lang, func(t *testing.T) {
				if c.doc == good {
					t.Fatal("the test's replacement changed nothing")
				}
				b := env.analyst()
				if res := b.post("/account/language", url.Values{"language": {lang}}); res.status != http.StatusSeeOther {
					t.Fatalf("language: status %d", res.status)
				}
				before := len(env.auditActions())
				res := postImport(t, b, "advisory", "acme.json", c.doc)
				if res.status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d: %.600s", res.status, res.body)
				}
				mustContain(t, res.body, `id="publication-problem"`, `id="publication-new-form"`, `id="new-cve"`, c.field)
				if c.args != nil {
					inner := i18n.M(c.inner, c.args...).In(cat, lang)
					want := cat.T(lang, "publications.error.csaf.document", inner)
					if !strings.Contains(inner, c.field) {
						want = cat.T(lang, "publications.error.csaf.field", c.field, inner)
					}
					mustContain(t, res.body, template.HTMLEscapeString(want))
				} else {
					// The schema's reason names the field itself.
					mustContain(t, res.body, template.HTMLEscapeString(strings.SplitN(cat.T(lang, "publications.error.csaf.document", "\x00"), "\x00", 2)[0]))
				}
				if lang != "en" && strings.Contains(res.body, "The CSAF document was refused") {
					t.Errorf("the refusal is in English for %s", lang)
				}
				if strings.Contains(res.body, "goroutine") || strings.Contains(res.body, "Go struct") {
					t.Errorf("internal text shown: %.600s", res.body)
				}
				if n := len(env.auditActions()); n != before {
					t.Errorf("a refused document was audited as a creation: %d entries, was %d", n, before)
				}
			})
		}
	}
}
