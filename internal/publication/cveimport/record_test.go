package cveimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/markdown"
)

// sample is the test record (testdata/CVE-2026-12345.json), written for
// these tests in the format of the public CVE list: a CNA container with
// two languages and five affected entries, and two ADP containers.
func sample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/CVE-2026-12345.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// mutate decodes the sample, sets the value at path (keys and indexes;
// a nil value deletes a key), and encodes it again.
func mutate(t *testing.T, path []any, value any) []byte {
	t.Helper()
	var doc any
	if err := json.Unmarshal(sample(t), &doc); err != nil {
		t.Fatal(err)
	}
	cur := doc
	for i, step := range path {
		last := i == len(path)-1
		switch s := step.(type) {
		case string:
			m := cur.(map[string]any)
			if last {
				if value == nil {
					delete(m, s)
				} else {
					m[s] = value
				}
			} else {
				cur = m[s]
			}
		case int:
			a := cur.([]any)
			if last {
				a[s] = value
			} else {
				cur = a[s]
			}
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReadRecordAndDraft(t *testing.T) {
	rec, err := ReadRecord(bytes.NewReader(sample(t)))
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != "CVE-2026-12345" || rec.State != "PUBLISHED" || rec.DataVersion != "5.1" || rec.Assigner != "acme" || len(rec.ADP) != 2 || rec.ADP[0].Provider != "CISA-ADP" {
		t.Errorf("record %+v", rec)
	}
	got := rec.Draft([]string{"en", "nl", "fr"})
	enBody := `The web interface of Acme Gateway before 4.2.1 lets a remote attacker run code through a crafted \<script\> parameter in admin\_panel (see <https://acme.example/sa_1>).` +
		"\n\nThe LTS branch is affected up to 3.9.7."
	want := publication.Content{
		Severity: "critical",
		TLP:      publication.TLPClear,
		Texts: []publication.Text{
			{
				Lang:    "en",
				Title:   "Remote code execution in Acme Gateway",
				Summary: "The web interface of Acme Gateway before 4.2.1 lets a remote attacker run code through a crafted <script> parameter in admin_panel (see https://acme.example/sa_1).",
				Body:    enBody,
				Recommendations: []publication.Recommendation{
					{Kind: "patch", Text: "Update to 4.2.1 or later."},
					{Kind: "workaround", Text: "Block access to /admin from the Internet."},
				},
			},
			{
				Lang:    "nl",
				Title:   "Remote code execution in Acme Gateway",
				Summary: "Via de webinterface van Acme Gateway voor 4.2.1 kan een aanvaller op afstand code uitvoeren.",
				Body:    "Via de webinterface van Acme Gateway voor 4.2.1 kan een aanvaller op afstand code uitvoeren.",
			},
		},
		CVEs: []string{"CVE-2026-12345"},
		CWEs: []string{"CWE-79", "CWE-94", "CWE-20"},
		CVSS: []publication.CVSS{
			{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", Score: 6.1, Severity: "medium"},
			{Version: "4.0", Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", Score: 9.3, Severity: "critical"},
			{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Severity: "critical"},
		},
		Products: []publication.Product{
			{Vendor: "acme", Product: "gateway", Versions: []publication.VersionRange{{Fixed: "4.2.1"}}, CPE: "cpe:2.3:a:acme:gateway:*:*:*:*:*:*:*:*"},
			{Vendor: "acme", Product: "gateway-lts", Versions: []publication.VersionRange{{Introduced: "3.0", LastAffected: "3.9.7"}, {Version: "2.5.1"}}},
			{Product: "acme-gateway-client", Versions: []publication.VersionRange{{Introduced: "1.0.0"}}, PURL: "pkg:npm/acme-gateway-client"},
			{Vendor: "acme", Product: "agent", PURL: "pkg:golang/acme.example/agent"},
		},
		References: []publication.Reference{
			{URL: "https://acme.example/sa-2026-01", Title: "ACME-SA-2026-01"},
			{URL: "https://acme.example/changelog"},
			{URL: "https://cisa.example/kev/CVE-2026-12345", Title: "KEV"},
			{URL: "https://www.openwall.example/lists/oss-security/2026/11/20/1"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", "  ")
		wj, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("draft:\n%s\nwant:\n%s", gj, wj)
	}

	t.Run("the body renders as the description reads", func(t *testing.T) {
		html := string(markdown.Render(got.Texts[0].Body))
		for _, w := range []string{"&lt;script&gt; parameter in admin_panel", `<a href="https://acme.example/sa_1" rel="nofollow noopener noreferrer">https://acme.example/sa_1</a>`} {
			if !strings.Contains(html, w) {
				t.Errorf("%q not in %s", w, html)
			}
		}
	})
	t.Run("every language of the record without a list", func(t *testing.T) {
		d := rec.Draft(nil)
		if langs := d.Languages(); !reflect.DeepEqual(langs, []string{"en", "nl"}) {
			t.Errorf("languages %v", langs)
		}
	})
	t.Run("the primary language always, in English when the record lacks it", func(t *testing.T) {
		d := rec.Draft([]string{"fr", "nl", "en", "de"})
		if langs := d.Languages(); !reflect.DeepEqual(langs, []string{"fr", "nl", "en"}) {
			t.Fatalf("languages %v", langs)
		}
		if d.Texts[0].Body != enBody || d.Texts[2].Body != enBody || d.Texts[1].Body == enBody {
			t.Errorf("texts %+v", d.Texts)
		}
	})
	t.Run("the draft passes the publication's checks as it is", func(t *testing.T) {
		for _, langs := range [][]string{{"en", "nl", "fr"}, {"nl", "fr", "en"}} {
			d := rec.Draft(langs)
			rules := publication.Rules{Languages: langs, Severities: publication.DefaultSeverities}
			if err := rules.Check(&d); err != nil {
				t.Errorf("%v: %v", langs, err)
			}
		}
	})
}

// TestDraftADPProducts checks that the ADP's affected products are taken
// when the CNA lists none, and that a record without scores has no
// severity.
func TestDraftADPProducts(t *testing.T) {
	data := mutate(t, []any{"containers", "cna", "affected"}, nil)
	var doc map[string]any
	_ = json.Unmarshal(data, &doc)
	cna := doc["containers"].(map[string]any)["cna"].(map[string]any)
	delete(cna, "metrics")
	adp := doc["containers"].(map[string]any)["adp"].([]any)[0].(map[string]any)
	delete(adp, "metrics")
	data, _ = json.Marshal(doc)
	rec, err := ReadRecord(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	d := rec.Draft([]string{"en"})
	want := []publication.Product{{Vendor: "acme", Product: "gateway", Versions: []publication.VersionRange{{Version: "4.0"}}, CPE: "cpe:2.3:a:acme:gateway:4.0:*:*:*:*:*:*:*"}}
	if !reflect.DeepEqual(d.Products, want) {
		t.Errorf("products %+v, want %+v", d.Products, want)
	}
	if d.Severity != "" || len(d.CVSS) != 0 {
		t.Errorf("severity %q from %v", d.Severity, d.CVSS)
	}
}

// TestReadRecordRefuses checks that each malformed record is refused as
// an InputError naming the JSON path of the field that is wrong.
func TestReadRecordRefuses(t *testing.T) {
	cna := func(path ...any) []any { return append([]any{"containers", "cna"}, path...) }
	for _, tc := range []struct {
		name  string
		path  []any
		value any
		field string
		id    string
	}{
		{"lessThan not a string", cna("affected", 2, "versions", 0, "lessThan"), 12, "containers.cna.affected[2].versions[0].lessThan", "publication.error.cve.string"},
		{"not a CVE record", []any{"dataType"}, "CVE_JSON", "dataType", "publication.error.cve.datatype"},
		{"format version 4", []any{"dataVersion"}, "4.0", "dataVersion", "publication.error.cve.version"},
		{"no metadata", []any{"cveMetadata"}, nil, "cveMetadata", "publication.error.cve.missing"},
		{"bad CVE ID", []any{"cveMetadata", "cveId"}, "CVE-26-1", "cveMetadata.cveId", "publication.error.cve.id"},
		{"unknown state", []any{"cveMetadata", "state"}, "RESERVED", "cveMetadata.state", "publication.error.cve.value"},
		{"no containers", []any{"containers"}, nil, "containers", "publication.error.cve.missing"},
		{"cna not an object", cna(), []any{}, "containers.cna", "publication.error.cve.object"},
		{"no description", cna("descriptions"), []any{}, "containers.cna.descriptions", "publication.error.cve.missing"},
		{"description without text", cna("descriptions", 1), map[string]any{"lang": "nl"}, "containers.cna.descriptions[1].value", "publication.error.cve.missing"},
		{"description not an object", cna("descriptions", 0), "text", "containers.cna.descriptions[0]", "publication.error.cve.object"},
		{"unknown version status", cna("affected", 0, "versions", 1, "status"), "vulnerable", "containers.cna.affected[0].versions[1].status", "publication.error.cve.value"},
		{"version without status", cna("affected", 1, "versions", 1), map[string]any{"version": "2.5.1"}, "containers.cna.affected[1].versions[1].status", "publication.error.cve.missing"},
		{"both upper bounds", cna("affected", 1, "versions", 0, "lessThan"), "4.0", "containers.cna.affected[1].versions[0].lessThanOrEqual", "publication.error.cve.both"},
		{"range without versionType", cna("affected", 0, "versions", 0, "versionType"), nil, "containers.cna.affected[0].versions[0].versionType", "publication.error.cve.missing"},
		{"versions not a list", cna("affected", 3, "versions"), "all", "containers.cna.affected[3].versions", "publication.error.cve.array"},
		{"no product", cna("affected", 4, "product"), nil, "containers.cna.affected[4].product", "publication.error.cve.missing"},
		{"unknown default status", cna("affected", 0, "defaultStatus"), "maybe", "containers.cna.affected[0].defaultStatus", "publication.error.cve.value"},
		{"cpes not a list", cna("affected", 0, "cpes"), "cpe:2.3:a:acme:gateway", "containers.cna.affected[0].cpes", "publication.error.cve.array"},
		{"cpe not a string", cna("affected", 0, "cpes", 0), 7, "containers.cna.affected[0].cpes[0]", "publication.error.cve.string"},
		{"not a Package URL", cna("affected", 4, "packageURL"), "golang/acme.example/agent", "containers.cna.affected[4].packageURL", "publication.error.cve.value"},
		{"bad CWE ID", cna("problemTypes", 0, "descriptions", 0, "cweId"), "CWE-XSS", "containers.cna.problemTypes[0].descriptions[0].cweId", "publication.error.cve.value"},
		{"javascript reference", cna("references", 1, "url"), "javascript:alert(1)", "containers.cna.references[1].url", "publication.error.cve.url"},
		{"relative reference", cna("references", 1, "url"), "/changelog", "containers.cna.references[1].url", "publication.error.cve.url"},
		{"CWE ID too long", cna("problemTypes", 0, "descriptions", 0, "cweId"), "CWE-1234567", "containers.cna.problemTypes[0].descriptions[0].cweId", "publication.error.cve.value"},
		{"reference not an object", cna("references", 0), "https://acme.example", "containers.cna.references[0]", "publication.error.cve.object"},
		{"malformed CVSS vector", cna("metrics", 0, "cvssV3_1", "vectorString"), "CVSS:3.1/AV:N", "containers.cna.metrics[0].cvssV3_1.vectorString", "publication.error.cve.cvss"},
		{"CVSS without vector", cna("metrics", 1, "cvssV4_0", "vectorString"), nil, "containers.cna.metrics[1].cvssV4_0.vectorString", "publication.error.cve.missing"},
		{"malformed ADP vector", []any{"containers", "adp", 0, "metrics", 1, "cvssV3_1", "vectorString"}, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:X", "containers.adp[0].metrics[1].cvssV3_1.vectorString", "publication.error.cve.cvss"},
		{"adp not a list", []any{"containers", "adp"}, map[string]any{}, "containers.adp", "publication.error.cve.array"},
		{"title not a string", cna("title"), []any{"x"}, "containers.cna.title", "publication.error.cve.string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := refusal(t, mutate(t, tc.path, tc.value))
			if in.Field != tc.field || in.Message.ID != tc.id {
				t.Errorf("refused %s %s (%v), want %s %s", in.Field, in.Message.ID, in, tc.field, tc.id)
			}
		})
	}
	t.Run("the CVSS reason is kept", func(t *testing.T) {
		in := refusal(t, mutate(t, cna("metrics", 0, "cvssV3_1", "vectorString"), "CVSS:3.1/AV:N"))
		want := `containers.cna.metrics[0].cvssV3_1.vectorString: containers.cna.metrics[0].cvssV3_1.vectorString holds a CVSS vector that does not score. "CVSS:3.1/AV:N" is not a valid CVSS vector: the mandatory metric AC is missing.`
		if in.Error() != want {
			t.Errorf("got  %s\nwant %s", in.Error(), want)
		}
		if fr := in.Message.In(i18n.Embedded(), "fr"); !strings.Contains(fr, "la métrique obligatoire AC manque") {
			t.Errorf("French: %s", fr)
		}
	})
}

// TestReadRecordRefusesDocuments checks refusals of what is not a record
// at all.
func TestReadRecordRefusesDocuments(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	for _, tc := range []struct {
		name, doc, id string
	}{
		{"empty", "", "publication.error.cve.json"},
		{"not JSON", "CVE-2026-12345", "publication.error.cve.json"},
		{"cut short", `{"dataType": "CVE_RECORD", "cveMetadata": {`, "publication.error.cve.json"},
		{"two documents", `{"dataType": "CVE_RECORD"} {}`, "publication.error.cve.trailing"},
		{"an array", `[{"dataType": "CVE_RECORD"}]`, "publication.error.cve.datatype"},
		{"a string", `"CVE_RECORD"`, "publication.error.cve.datatype"},
		{"nested too deep", deep, "publication.error.cve.deep"},
		{"brackets in strings do not count", `{"dataType": "` + strings.Repeat("[", 100) + `"}`, "publication.error.cve.datatype"},
		{"not UTF-8", "{\"dataType\": \"\xff\"}", "publication.error.cve.utf8"},
		{"too large", `{"dataType": "CVE_RECORD", "x": "` + strings.Repeat("a", MaxRecordSize) + `"}`, "publication.error.cve.large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if in := refusal(t, []byte(tc.doc)); in.Message.ID != tc.id {
				t.Errorf("refused with %s (%v), want %s", in.Message.ID, in, tc.id)
			}
		})
	}
}

func TestReadRecordRejected(t *testing.T) {
	doc := `{"dataType": "CVE_RECORD", "dataVersion": "5.1",
		"cveMetadata": {"cveId": "CVE-2026-0999", "state": "REJECTED", "assignerOrgId": "x"},
		"containers": {"cna": {"providerMetadata": {"orgId": "x"},
			"rejectedReasons": [{"lang": "en", "value": "This candidate is a duplicate of CVE-2026-12345."}]}}}`
	_, err := ReadRecord(strings.NewReader(doc))
	if !IsRejected(err) || !errors.Is(err, publication.ErrInput) {
		t.Fatalf("%v: not a refusal of a rejected record", err)
	}
	want := "cveMetadata.state: CVE-2026-0999 was rejected by the CVE Program: This candidate is a duplicate of CVE-2026-12345."
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if _, err := ReadRecord(bytes.NewReader(sample(t))); IsRejected(err) {
		t.Error("a published record is rejected")
	}
	if IsRejected(refusal(t, []byte("{"))) {
		t.Error("a malformed record is taken for a rejected one")
	}
}

// refusal reads doc and returns ReadRecord's refusal.
func refusal(t *testing.T, doc []byte) *publication.InputError {
	t.Helper()
	rec, err := ReadRecord(bytes.NewReader(doc))
	if err == nil {
		t.Fatalf("read %+v, want a refusal", rec)
	}
	var in *publication.InputError
	if !errors.As(err, &in) {
		t.Fatalf("%T %v, want a *publication.InputError", err, err)
	}
	return in
}

// FuzzReadRecord checks that no input makes ReadRecord or Draft panic,
// and that whatever is not read is an input refusal.
func FuzzReadRecord(f *testing.F) {
	f.Add(sample(f))
	f.Add([]byte(`{"dataType":"CVE_RECORD","dataVersion":"5.0","cveMetadata":{"cveId":"CVE-2026-1000","state":"PUBLISHED"},"containers":{"cna":{"descriptions":[{"lang":"en","value":"x"}],"affected":[{"product":"p","versions":[{"version":"0","lessThan":"1","status":"affected","versionType":"semver"}]}]}}}`))
	f.Add([]byte(`{"dataType":"CVE_RECORD","dataVersion":"5.1","cveMetadata":{"cveId":"CVE-2026-1000","state":"REJECTED"},"containers":{"cna":{"rejectedReasons":[{"lang":"en","value":"dup"}]}}}`))
	f.Add([]byte(`[[[[{}]]]]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		rec, err := ReadRecord(bytes.NewReader(doc))
		if err != nil {
			if !errors.Is(err, publication.ErrInput) {
				t.Fatalf("%v is not an input refusal", err)
			}
			return
		}
		d := rec.Draft([]string{"en", "nl", "fr"})
		if len(d.CVEs) != 1 || d.CVEs[0] != rec.ID {
			t.Fatalf("draft CVEs %v for %s", d.CVEs, rec.ID)
		}
	})
}

// TestDraftLeavesOutOtherAddresses checks that an ftp reference, which
// the format allows, is read but not put in the draft: a publication
// links only to http and https.
func TestDraftLeavesOutOtherAddresses(t *testing.T) {
	rec, err := ReadRecord(bytes.NewReader(mutate(t, []any{"containers", "cna", "references", 1, "url"}, "ftp://ftp.acme.example/patch.tgz")))
	if err != nil {
		t.Fatal(err)
	}
	if rec.CNA.References[1].URL != "ftp://ftp.acme.example/patch.tgz" {
		t.Errorf("record references %+v", rec.CNA.References)
	}
	for _, ref := range rec.Draft(nil).References {
		if strings.HasPrefix(ref.URL, "ftp:") {
			t.Errorf("draft references %s", ref.URL)
		}
	}
}
