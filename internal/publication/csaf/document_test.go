package csaf

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
)

// decode reads a document back into a generic map.
func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at walks a decoded document along path ("document.tracking.id",
// "vulnerabilities.0.cve").
func at(t *testing.T, v any, path string) any {
	t.Helper()
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				t.Fatalf("%s: index %d out of %d", path, i, len(x))
			}
			v = x[i]
		default:
			t.Fatalf("%s: no %q in %T", path, k, v)
		}
	}
	return v
}

func TestDocumentSecurityAdvisory(t *testing.T) {
	p := testAdvisory("VIGIL-2026-0042", t0)
	clear := publication.Content{TLP: publication.TLPClear}
	revs := []publication.Revision{{Number: 1, Published: t0, Note: "First version", Content: clear},
		{Number: 2, Published: t0.Add(48e9 * 3600), Note: "Fixed version named", Content: clear}}
	data, err := Document(p, testPublisher("https://cert.example"), "en", revs...)
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, data)
	for path, want := range map[string]any{
		"document.category":                                      CategorySecurity,
		"document.csaf_version":                                  "2.0",
		"document.lang":                                          "en",
		"document.publisher.category":                            "coordinator",
		"document.tracking.id":                                   "VIGIL-2026-0042",
		"document.tracking.status":                               "final",
		"document.tracking.version":                              "2",
		"document.tracking.initial_release_date":                 "2026-03-14T09:30:00Z",
		"document.tracking.revision_history.1.summary":           "Fixed version named",
		"document.distribution.tlp.label":                        "WHITE",
		"document.references.0.url":                              "https://cert.example/en/advisories/VIGIL-2026-0042",
		"document.references.1.url":                              "https://cert.example/.well-known/csaf/white/2026/vigil-2026-0042.json",
		"vulnerabilities.0.cve":                                  "CVE-2026-1001",
		"vulnerabilities.1.cve":                                  "CVE-2026-1002",
		"vulnerabilities.0.cwe.id":                               "CWE-78",
		"vulnerabilities.0.scores.0.cvss_v3.baseSeverity":        "CRITICAL",
		"vulnerabilities.0.remediations.0.category":              "vendor_fix",
		"vulnerabilities.0.remediations.1.category":              "mitigation",
		"vulnerabilities.0.remediations.2.category":              "workaround",
		"product_tree.branches.0.name":                           "Example",
		"product_tree.branches.0.branches.0.branches.0.category": "product_version_range",
		"product_tree.branches.0.branches.0.branches.0.name":     "vers:generic/>=2.0|<2.4.1",
		"product_tree.branches.0.branches.0.branches.1.name":     "2.4.1",
		"product_tree.branches.0.branches.0.branches.2.product.product_identification_helper.cpe": "cpe:2.3:h:example:gateway:1.9.9:*:*:*:*:*:*:*",
		"product_tree.branches.0.branches.1.branches.0.name":                                      "vers:generic/<=3.2",
		"product_tree.branches.1.branches.0.product.product_id":                                   "CSAFPID-0005",
	} {
		if got := at(t, doc, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	// The fixed version is fixed, not affected; CVSS 4.0, the unnamed
	// CWE and the detection advice are notes.
	fixed := at(t, doc, "vulnerabilities.0.product_status.fixed").([]any)
	if len(fixed) != 1 || fixed[0] != "CSAFPID-0002" {
		t.Errorf("fixed = %v", fixed)
	}
	notes, _ := json.Marshal(at(t, doc, "vulnerabilities.0.notes"))
	for _, want := range []string{"CVSS:4.0/AV:N", "CWE-1333", "POST requests to /cgi-bin/admin"} {
		if !strings.Contains(string(notes), want) {
			t.Errorf("vulnerability notes lack %q: %s", want, notes)
		}
	}
	if FileName(p.Ident) != "vigil-2026-0042.json" || FileName("ACME:SA/2026 01+x") != "acme_sa_2026_01+x.json" {
		t.Errorf("FileName: %s, %s", FileName(p.Ident), FileName("ACME:SA/2026 01+x"))
	}
}

func TestDocumentInformationalAdvisory(t *testing.T) {
	p := testWarning("VIGIL-2026-0043", t0)
	data, err := Document(p, testPublisher("https://cert.example"), "fr")
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, data)
	if got := at(t, doc, "document.category"); got != CategoryInformational {
		t.Errorf("category = %v", got)
	}
	if got := at(t, doc, "document.tracking.status"); got != "interim" {
		t.Errorf("status = %v", got)
	}
	if got := at(t, doc, "document.lang"); got != "en" {
		t.Errorf("lang = %v, want the primary language en for a missing fr", got)
	}
	if doc["vulnerabilities"] != nil || doc["product_tree"] != nil {
		t.Errorf("an informational advisory has vulnerabilities or a product tree: %s", data)
	}
	if !strings.Contains(string(data), "Warn your users.") || !strings.Contains(string(data), "Example Webmail") {
		t.Errorf("recommendations or products missing from the notes: %s", data)
	}
}

func TestDocumentTLPAndDraft(t *testing.T) {
	p := testAdvisory("VIGIL-2026-0044", t0)
	p.TLP = publication.TLPAmberStrict
	data, err := Document(p, testPublisher("https://cert.example"), "en")
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, data)
	if at(t, doc, "document.distribution.tlp.label") != "AMBER" || at(t, doc, "document.distribution.text") != "TLP:AMBER+STRICT" {
		t.Errorf("distribution = %v", at(t, doc, "document.distribution"))
	}
	if strings.Contains(string(data), "/white/") {
		t.Errorf("an AMBER document names a public CSAF file: %s", data)
	}
	draft := testAdvisory("VIGIL-2026-0045", t0)
	draft.Status, draft.Revision = publication.StatusDraft, 0
	data, err = Document(draft, testPublisher("https://cert.example"), "en")
	if err != nil {
		t.Fatal(err)
	}
	if got := at(t, decode(t, data), "document.tracking.status"); got != "draft" {
		t.Errorf("a preview's status = %v", got)
	}
}

// TestDocumentRefuses: what CSAF cannot say is refused with the field.
func TestDocumentRefuses(t *testing.T) {
	pub := testPublisher("https://cert.example")
	for _, c := range []struct {
		name  string
		edit  func(p *publication.Publication)
		field string
	}{
		{"news", func(p *publication.Publication) { p.Kind = publication.KindNews }, "kind"},
		{"no title", func(p *publication.Publication) { p.Texts[0].Title = " " }, "texts[0].title"},
		{"no summary nor body", func(p *publication.Publication) { p.Texts[0].Summary, p.Texts[0].Body = "", "" }, "texts[0].summary"},
		{"no products", func(p *publication.Publication) { p.Products = nil }, "products"},
		{"no vendor", func(p *publication.Publication) { p.Products[1].Vendor = "" }, "products[1].vendor"},
		{"empty range", func(p *publication.Publication) { p.Products[0].Versions[1] = publication.VersionRange{} }, "products[0].versions[1]"},
		{"bad vector", func(p *publication.Publication) { p.CVSS[0].Vector = "AV:N/AC:L" }, "cvss[0].vector"},
		{"bad CVE", func(p *publication.Publication) { p.CVEs[1] = "CVE-26-1" }, "cves[1]"},
		{"version with a range word", func(p *publication.Publication) {
			p.Products[0].CPE, p.Products[0].Versions[1].Version = "", "all before 2.0"
		},
			"product_tree/branches/0/branches/0/branches/2/name"},
		{"bad language", func(p *publication.Publication) { p.Texts[0].Lang = "english!" }, "document/lang"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := testAdvisory("VIGIL-2026-0050", t0)
			c.edit(&p)
			_, err := Document(p, pub, "en")
			var ie *publication.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an InputError", err)
			}
			if ie.Field != c.field {
				t.Errorf("field = %q (%v), want %q", ie.Field, err, c.field)
			}
		})
	}
	w := testWarning("VIGIL-2026-0051", t0)
	w.References = nil
	if _, err := Document(w, pub, "en"); err == nil || !strings.HasPrefix(err.Error(), "references:") {
		t.Errorf("a warning without an outside reference: %v", err)
	}
}

// TestDocumentSchemaField: a value only the schema refuses is named by
// its place in the document.
func TestDocumentSchemaField(t *testing.T) {
	p := testAdvisory("VIGIL-2026-0052", t0)
	p.Products[1].PURL = "npm:example-agent"
	_, err := Document(p, testPublisher("https://cert.example"), "en")
	var ie *publication.InputError
	if !errors.As(err, &ie) || ie.Field != "product_tree/branches/0/branches/1/branches/0/product/product_identification_helper/purl" {
		t.Errorf("err = %v", err)
	}
}
