package csaf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
)

// largeShapes are the documents a hostile vendor could send to make an
// import slow: many distinct references, vulnerabilities, affected
// products, or products both affected and fixed (test 6.1.6 compares
// the two lists).
var largeShapes = []string{"references", "vulnerabilities", "affected", "status"}

// largeDocument is a valid CSAF document of one of largeShapes with n
// items, made from a document Vigil writes.
func largeDocument(tb testing.TB, shape string, n int) []byte {
	tb.Helper()
	data, err := Document(testAdvisory("VIGIL-2026-0042", t0), testPublisher("https://cert.example"), "en")
	if err != nil {
		tb.Fatal(err)
	}
	var a advisory
	if err := json.Unmarshal(data, &a); err != nil {
		tb.Fatal(err)
	}
	// One product for the vulnerabilities to name, the document's own.
	first := a.Vulnerabilities[0].ProductStatus.KnownAffected[:1]
	switch shape {
	case "references":
		for i := range n {
			a.Document.References = append(a.Document.References, reference{Category: "external",
				Summary: "r" + strconv.Itoa(i), URL: "https://vendor.example/r/" + strconv.Itoa(i)})
		}
	case "vulnerabilities":
		a.Document.Category = "csaf_vex"
		a.Vulnerabilities = a.Vulnerabilities[:0]
		for i := range n {
			v := vulnerability{
				CVE:           fmt.Sprintf("CVE-2026-%05d", 10000+i),
				Notes:         []note{{Category: "description", Text: "n" + strconv.Itoa(i)}},
				ProductStatus: &productStatus{KnownAffected: first},
			}
			if i%4 == 0 {
				// Not on all: 40,000 would not fit in an import.
				v.Remediations = []remediation{{Category: "vendor_fix", Details: "r" + strconv.Itoa(i), ProductIDs: first}}
			}
			a.Vulnerabilities = append(a.Vulnerabilities, v)
		}
	case "affected", "status":
		var names []product
		var ids []string
		for i := range n {
			id := "P" + strconv.Itoa(i)
			names = append(names, product{Name: "p" + strconv.Itoa(i), ID: id})
			ids = append(ids, id)
		}
		a.ProductTree.FullProductNames = append(a.ProductTree.FullProductNames, names...)
		st := a.Vulnerabilities[0].ProductStatus
		st.KnownAffected = append(st.KnownAffected, ids...)
		if shape == "status" {
			// As many fixed, none of them affected: every fixed id is
			// compared with the whole affected list.
			for i := range n {
				id := "F" + strconv.Itoa(i)
				a.ProductTree.FullProductNames = append(a.ProductTree.FullProductNames, product{Name: "f" + strconv.Itoa(i), ID: id})
				st.Fixed = append(st.Fixed, id)
			}
		}
	default:
		tb.Fatalf("no shape %q", shape)
	}
	out, err := json.Marshal(&a)
	if err != nil {
		tb.Fatal(err)
	}
	if len(out) > MaxImportSize {
		tb.Fatalf("%s %d: %d bytes, more than an import reads", shape, n, len(out))
	}
	return out
}

// BenchmarkImportLarge imports documents of 10,000 and 40,000 items of
// each large shape, as the console and the command line do.
func BenchmarkImportLarge(b *testing.B) {
	for _, shape := range largeShapes {
		for _, n := range []int{10_000, 40_000} {
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				data := largeDocument(b, shape, n)
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if _, err := ImportDraft(bytes.NewReader(data), []string{"en"}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(data)), "doc-bytes")
			})
		}
	}
}

// TestImportLargeProducts: a document of 40,000 affected products
// imports, its products cut to what a publication holds.
func TestImportLargeProducts(t *testing.T) {
	d, err := ImportDraft(bytes.NewReader(largeDocument(t, "affected", 40_000)), []string{"en"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Content.Products) != publication.MaxListItems {
		t.Fatalf("%d products, want %d", len(d.Content.Products), publication.MaxListItems)
	}
	if err := (publication.Config{}).Rules().Check(&d.Content); err != nil {
		t.Errorf("the draft is no publication's content: %v", err)
	}
}

// TestDraftBoundedAsCut: a draft stops its lists and body where a
// publication does, and keeps just what cutting the full content would
// keep: lists longer than a publication holds, duplicates, references
// that are not web addresses, a body longer than it holds, a worst
// score after the tenth.
func TestDraftBoundedAsCut(t *testing.T) {
	docs := map[string]*advisory{"mixed": mixedAdvisory()}
	for _, shape := range largeShapes {
		var a advisory
		if err := json.Unmarshal(largeDocument(t, shape, 2000), &a); err != nil {
			t.Fatal(err)
		}
		docs[shape] = &a
	}
	for name, a := range docs {
		t.Run(name, func(t *testing.T) {
			langs := []string{"nl", "en"}
			cut := contentOf(a, false)
			fit(&cut, langs)
			bounded := contentOf(a, true)
			fit(&bounded, langs)
			if !reflect.DeepEqual(bounded, cut) {
				t.Errorf("bounded draft differs from the cut one\nbounded %.600v\n    cut %.600v", bounded, cut)
			}
		})
	}
	// The mixed document reaches every bound, so the test above compares
	// something.
	c := contentOf(mixedAdvisory(), false)
	if len(c.References) <= publication.MaxListItems || len(c.CVEs) <= publication.MaxListItems ||
		len(c.CWEs) <= publication.MaxListItems || len(c.CVSS) <= maxScores ||
		len(c.Texts[0].Recommendations) <= publication.MaxListItems || len(c.Texts[0].Body) <= publication.MaxBody ||
		len(c.Products) <= publication.MaxListItems || len(c.Products[0].Versions) <= publication.MaxListItems || c.Severity != "critical" {
		t.Errorf("the mixed document does not reach the bounds: %d references, %d CVEs, %d CWEs, %d scores, %d recommendations, %d bytes of body, %d products, %d versions, severity %q",
			len(c.References), len(c.CVEs), len(c.CWEs), len(c.CVSS), len(c.Texts[0].Recommendations), len(c.Texts[0].Body),
			len(c.Products), len(c.Products[0].Versions), c.Severity)
	}
}

// mixedAdvisory is a document past every bound of a publication, with
// duplicates in every list.
func mixedAdvisory() *advisory {
	a := &advisory{Document: docMeta{Category: CategorySecurity, Lang: "en-GB", Title: "Mixed"}}
	long := strings.Repeat("é", 499) // 998 bytes, so the body's cut falls inside a rune
	for i := range 300 {
		a.Document.Notes = append(a.Document.Notes, note{Category: "general", Text: long + strconv.Itoa(i%250)})
	}
	for i := range 700 {
		url := "https://vendor.example/" + strconv.Itoa(i)
		switch {
		case i%3 == 0:
			url = "ftp://vendor.example/" + strconv.Itoa(i)
		case i%5 == 0:
			url = "https://vendor.example/" + strconv.Itoa(i/2)
		}
		a.Document.References = append(a.Document.References, reference{URL: url, Summary: "r" + strconv.Itoa(i)})
	}
	severities := []string{"LOW", "MEDIUM", "HIGH"}
	for i := range 700 {
		v := vulnerability{
			CVE:           fmt.Sprintf("CVE-2026-%05d", 10000+i-i%7/6),
			CWE:           &cwe{ID: "CWE-" + strconv.Itoa(1+i%600), Name: "w"},
			Notes:         []note{{Category: "details", Title: "V", Text: "n" + strconv.Itoa(i%400)}},
			ProductStatus: &productStatus{KnownAffected: []string{"P" + strconv.Itoa(i)}},
			Remediations: []remediation{
				{Category: "vendor_fix", Details: "fix " + strconv.Itoa(i%650)},
				{Category: "none_available", Details: "none"},
			},
			References: []reference{{URL: "https://vendor.example/" + strconv.Itoa(i+300)}},
		}
		severity := severities[i%3]
		if i == 699 {
			severity = "CRITICAL"
		}
		v.Scores = []score{{CVSSv3: &cvssV3{Version: "3.1", VectorString: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:" + strconv.Itoa(i%15),
			BaseScore: 5, BaseSeverity: severity}}}
		if i == 699 {
			v.Scores[0].CVSSv3.VectorString += "/worst"
		}
		a.Vulnerabilities = append(a.Vulnerabilities, v)
	}
	// 700 products of one vendor, the first with 600 versions; product
	// ids P0 to P699 are affected, the rest are not.
	vendor := branch{Category: "vendor", Name: "Vendor"}
	for i := range 700 {
		p := branch{Category: "product_name", Name: "Product " + strconv.Itoa(i%650)}
		versions := 1
		if i == 0 {
			versions = 600
		}
		for j := range versions {
			id := "P" + strconv.Itoa(i)
			if j > 0 {
				id = "P0." + strconv.Itoa(j)
				a.Vulnerabilities[0].ProductStatus.KnownAffected = append(a.Vulnerabilities[0].ProductStatus.KnownAffected, id)
			}
			p.Branches = append(p.Branches, branch{Category: "product_version", Name: "1." + strconv.Itoa(j%550),
				Product: &product{Name: "p", ID: id, Helper: &helper{CPE: "cpe:2.3:a:vendor:p" + strconv.Itoa(i) + ":*:*:*:*:*:*:*:*"}}})
		}
		p.Branches = append(p.Branches, branch{Category: "product_version", Name: "9", Product: &product{Name: "q", ID: "Q" + strconv.Itoa(i)}})
		vendor.Branches = append(vendor.Branches, p)
	}
	a.ProductTree = &productTree{Branches: []branch{vendor}}
	for i := range 10 {
		a.ProductTree.FullProductNames = append(a.ProductTree.FullProductNames, product{Name: "Loose " + strconv.Itoa(i), ID: "P" + strconv.Itoa(690+i)})
	}
	return a
}
