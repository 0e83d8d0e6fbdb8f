package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/csaf"
)

// csafDocument is a TLP:AMBER CSAF document of kind, as a vendor's
// provider would publish it, written by the CSAF package for the test.
func csafDocument(t *testing.T, kind publication.Kind) string {
	t.Helper()
	at := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	p := publication.Publication{
		Ident: "ACME-SA-2026-07", Kind: kind, Status: publication.StatusPublished, Revision: 1, Published: at, Updated: at,
		Content: publication.Content{
			Severity: "high", TLP: publication.TLPAmber,
			Texts: []publication.Text{{Lang: "en", Title: "Authentication bypass in Acme VPN",
				Summary: "An attacker can log in without a password."}},
			CVEs:       []string{"CVE-2026-31337"},
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

// TestPublicationImportCSAF drafts an advisory from a CSAF document at
// its TLP, a warning (or what --kind says) from an informational one,
// and refuses a malformed document with the JSON path of the field at
// fault, in the reader's language.
func TestPublicationImportCSAF(t *testing.T) {
	t.Setenv("VIGIL_LANG", "en")
	data := t.TempDir()
	if code, _, errOut := run(t, "a-long-enough-password\n", "user", "add", "ana", "--role", "analyst", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	good := writeTemp(t, "acme-sa-2026-07.json", csafDocument(t, publication.KindAdvisory))
	code, out, errOut := run(t, "", "publication", "import-csaf", good, "--as", "ana", "--data", data)
	if code != 0 || !strings.Contains(out, "Authentication bypass in Acme VPN") {
		t.Fatalf("import-csaf: exit %d: %s%s", code, out, errOut)
	}
	ident := strings.Fields(strings.TrimPrefix(out, "draft "))[0]
	_, out, _ = run(t, "", "publication", "show", ident, "--json", "--data", data)
	for _, want := range []string{`"CVE-2026-31337"`, `"Vendor": "Acme"`, `"Source": "csaf:ACME-SA-2026-07"`, `"TLP": "AMBER"`,
		`"Kind": "advisory"`, `"Severity": "high"`, `"Author": "ana"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the draft lacks %s: %s", want, out)
		}
	}

	info := writeTemp(t, "info.json", csafDocument(t, publication.KindWarning))
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, `"Kind": "warning"`},
		{[]string{"--kind", "news"}, `"Kind": "news"`},
	} {
		code, out, errOut := run(t, "", append([]string{"publication", "import-csaf", info, "--data", data}, c.args...)...)
		if code != 0 {
			t.Fatalf("import-csaf %v: exit %d: %s", c.args, code, errOut)
		}
		ident := strings.Fields(strings.TrimPrefix(out, "draft "))[0]
		if _, out, _ = run(t, "", "publication", "show", ident, "--json", "--data", data); !strings.Contains(out, c.want) || !strings.Contains(out, `"TLP": "AMBER"`) {
			t.Errorf("informational %v: want %s at AMBER: %s", c.args, c.want, out)
		}
	}

	bad := writeTemp(t, "bad.json", strings.Replace(csafDocument(t, publication.KindAdvisory), csaf.CategorySecurity, "csaf_base", 1))
	cat := i18n.Embedded()
	for _, lang := range []string{"en", "fr"} {
		t.Setenv("VIGIL_LANG", lang)
		code, _, errOut = run(t, "", "publication", "import-csaf", bad, "--data", data)
		want := cat.T(lang, "cli.publication.csaf.refused", bad, "document/category", cat.T(lang, "csaf.error.category", "csaf_base"))
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("%s: a malformed document: exit %d: %s, want %q", lang, code, errOut, want)
		}
	}
	t.Setenv("VIGIL_LANG", "en")
	if code, _, errOut := run(t, "", "publication", "import-csaf", good, "--kind", "leaflet", "--data", data); code != 2 || !strings.Contains(errOut, "leaflet") {
		t.Errorf("--kind leaflet: exit %d: %s", code, errOut)
	}
	_, out, _ = run(t, "", "publication", "list", "--data", data)
	if n := strings.Count(out, "ACME") + strings.Count(out, "Acme"); n != 3 {
		t.Errorf("want the three drafts listed, the refused ones not: %s", out)
	}
}
