package csaf

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
)

// TestImportRoundTrip: a document Vigil wrote reads back into the
// content it came from.
func TestImportRoundTrip(t *testing.T) {
	p := testAdvisory("VIGIL-2026-0042", t0)
	data, err := Document(p, testPublisher("https://cert.example"), "en")
	if err != nil {
		t.Fatal(err)
	}
	c, kind, err := Import(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if kind != publication.KindAdvisory || c.TLP != publication.TLPClear || c.Severity != "critical" {
		t.Errorf("kind %s, TLP %s, severity %s", kind, c.TLP, c.Severity)
	}
	if !reflect.DeepEqual(c.CVEs, p.CVEs) || !reflect.DeepEqual(c.CWEs, []string{"CWE-78"}) {
		t.Errorf("CVEs %v, CWEs %v", c.CVEs, c.CWEs)
	}
	if len(c.CVSS) != 1 || c.CVSS[0] != p.CVSS[0] {
		t.Errorf("CVSS %+v", c.CVSS)
	}
	wantProducts := []publication.Product{
		{Vendor: "Example", Product: "Gateway", CPE: "cpe:2.3:h:example:gateway:*:*:*:*:*:*:*:*",
			Versions: []publication.VersionRange{{Introduced: "2.0", Fixed: "2.4.1"}, {Version: "1.9.9"}}},
		{Vendor: "Example", Product: "Agent", PURL: "pkg:npm/example-agent", Versions: []publication.VersionRange{{LastAffected: "3.2"}}},
		{Vendor: "Other Corp", Product: "Bridge"},
	}
	if !reflect.DeepEqual(c.Products, wantProducts) {
		t.Errorf("products\n got %+v\nwant %+v", c.Products, wantProducts)
	}
	text := c.Texts[0]
	if text.Lang != "en" || text.Title != p.Texts[0].Title || text.Summary != p.Texts[0].Summary || !strings.Contains(text.Body, "management interface") {
		t.Errorf("text %+v", text)
	}
	var kinds []string
	for _, r := range text.Recommendations {
		kinds = append(kinds, r.Kind)
	}
	if !reflect.DeepEqual(kinds, []string{"patch", "mitigate", "workaround"}) {
		t.Errorf("recommendations %v", kinds)
	}
	if !slicesContainsURL(c.References, "https://example.com/security/2026-01") {
		t.Errorf("references %v", c.References)
	}

	w, err := Document(testWarning("VIGIL-2026-0043", t0), testPublisher("https://cert.example"), "en")
	if err != nil {
		t.Fatal(err)
	}
	if _, kind, err := Import(bytes.NewReader(w)); err != nil || kind != publication.KindWarning {
		t.Errorf("warning: %s %v", kind, err)
	}
}

func slicesContainsURL(refs []publication.Reference, url string) bool {
	for _, r := range refs {
		if r.URL == url {
			return true
		}
	}
	return false
}

// TestImportRefuses: malformed documents are refused with the field.
func TestImportRefuses(t *testing.T) {
	good, err := Document(testAdvisory("VIGIL-2026-0042", t0), testPublisher("https://cert.example"), "en")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(good)
	for _, c := range []struct {
		name, doc, field string
	}{
		{"not JSON", "{\"document\": ", ""},
		{"title of the wrong type", strings.Replace(doc, `"title": "Remote code execution in Example Gateway"`, `"title": 5`, 1), "document/title"},
		{"no title", strings.Replace(doc, `"title": "Remote code execution in Example Gateway",`, ``, 1), "document"},
		{"another category", strings.Replace(doc, CategorySecurity, "csaf_base", 1), "document/category"},
		{"bad CVE", strings.Replace(doc, `"cve": "CVE-2026-1002"`, `"cve": "CVE-2026"`, 1), "vulnerabilities/1/cve"},
		{"bad TLP", strings.Replace(doc, `"label": "WHITE"`, `"label": "CLEAR"`, 1), "document/distribution/tlp/label"},
		{"unknown product", strings.Replace(doc, `"known_affected": [
          "CSAFPID-0001"`, `"known_affected": [
          "CSAFPID-0099"`, 1), "vulnerabilities/0/product_status/known_affected/0"},
		{"same CVE twice", strings.Replace(doc, `"cve": "CVE-2026-1002"`, `"cve": "CVE-2026-1001"`, 1), "vulnerabilities/1/cve"},
		{"unknown field", strings.Replace(doc, `"csaf_version": "2.0",`, `"csaf_version": "2.0", "colour": "red",`, 1), "document"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.doc == doc {
				t.Fatal("the test's replacement changed nothing")
			}
			_, _, err := Import(strings.NewReader(c.doc))
			var ie *publication.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an InputError", err)
			}
			if ie.Field != c.field {
				t.Errorf("field %q (%v), want %q", ie.Field, err, c.field)
			}
		})
	}
	big := strings.Replace(doc, `"Details"`, `"`+strings.Repeat("x", MaxImportSize)+`"`, 1)
	if _, _, err := Import(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("an oversized document: %v", err)
	}
}

// gocsafTestdata is the directory of gocsaf's own test documents, in the
// module cache.
func gocsafTestdata(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/gocsaf/csaf/v3").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "testdata", "csaf-documents")
}

// TestImportForeignDocument reads a document Vigil did not write (a
// VEX of gocsaf's test data) and refuses its copy with trailing garbage.
func TestImportForeignDocument(t *testing.T) {
	dir := gocsafTestdata(t)
	data, err := os.ReadFile(filepath.Join(dir, "valid", "avendor-advisory-0004.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, kind, err := Import(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if kind != publication.KindAdvisory || c.TLP != publication.TLPClear || len(c.Texts) != 1 ||
		c.Texts[0].Title != "Test CSAF document" || c.Texts[0].Summary != "Auto generated test CSAF document" {
		t.Errorf("imported %s %+v", kind, c)
	}
	if len(c.Products) == 0 || c.Products[0].Vendor != "AVendor" || c.Products[0].Product != "product_1" || len(c.Products[0].Versions) == 0 {
		t.Errorf("products %+v", c.Products)
	}
	garbage, err := os.ReadFile(filepath.Join(dir, "trailing-garbage-data", "avendor-advisory-0004.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Import(bytes.NewReader(garbage)); !errors.Is(err, publication.ErrInput) {
		t.Errorf("trailing garbage: %v", err)
	}
}

// FuzzImport: whatever the input, Import refuses it with an InputError
// or returns a draft with one text; it never panics.
func FuzzImport(f *testing.F) {
	good, err := Document(testAdvisory("VIGIL-2026-0042", t0), testPublisher("https://cert.example"), "en")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"document": {"category": "csaf_security_advisory"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Import(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, publication.ErrInput) {
				t.Fatalf("not an InputError: %v", err)
			}
			return
		}
		if len(c.Texts) != 1 {
			t.Fatalf("%d texts", len(c.Texts))
		}
	})
}
